"""The Calls tab: the list of calls, and the call view (audio, transcript, scorecard, flags).

Selecting a row opens the call: its recording in the player (a leg pair as one stereo file),
the transcript beside it with roles and times, the scorecard with each item's verdict and
evidence, the flags, and the review panel (ui.review_panel). Clicking a turn or an evidence time
plays the audio from there. Personal numbers in the text are masked unless the user's role may
see them (qa.review.call_view). Other tabs open a call here through the
:class:`ui.widgets.CallView` that :func:`build_tab` returns.

:func:`layout` places the components; the handlers (``load_page``, ``filter_table``,
``open_call``, ``refresh_all``) are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs calls`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import partial
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.masking import mask_reviewer_text
from qa.access.permissions import Action, can
from qa.access.roles import User
from qa.results.sentiment import load_sentiment
from qa.review.call_view import (
    CallDetail,
    CallNotFoundError,
    CallRow,
    RecordingError,
    call_detail,
    list_agents,
    list_calls,
    playable_audio,
)
from ui.context import AppContext, permitted, refused
from ui.render import (
    AUDIO_ELEM_ID,
    CSS,
    KEYS_JS,
    SEEK_JS,
    TRANSCRIPT_JS,
    clock,
    flags_html,
    local_time,
    scorecard_html,
    transcript_html,
)
from ui.review_form import PANEL_OUTPUTS, panel_values
from ui.review_panel import FollowingLists, ReviewPanel
from ui.sentiment_chart import sentiment_html
from ui.waveform import evidence_marks, peaks, waveform_html
from ui.widgets import CallView, call_audio, selected_cell

logger = logging.getLogger(__name__)

HEADERS = [
    "Time",
    "Agent",
    "Queue",
    "Language",
    "Duration",
    "Score",
    "Result",
    "Flags",
    "Status",
    "Review",
    "Call ID",
]
_CALL_ID_COLUMN = HEADERS.index("Call ID")
_ALL_AGENTS = ""
LIST_LIMIT = 500  # newest calls shown; the filters narrow the list further back
_PROMPT = '<p class="qa-empty">Select a call in the table to open it.</p>'
#: the call view's outputs: title, audio, audio note, transcript, scorecard, flags, the open
#: call, then the review panel's
VIEW_SIZE = 7 + len(PANEL_OUTPUTS)


def _review_cell(row: CallRow) -> str:
    if row.review_status is None:
        return ""
    return f"{row.review_status} ({row.reviewed_by})" if row.reviewed_by else row.review_status


def table_frame(rows: list[CallRow], zone: tzinfo = UTC) -> pd.DataFrame:
    """The calls table: one line per call, newest first, times in the site's ``zone``."""
    lines = []
    for row in rows:
        result = "" if row.passed is None else "pass" if row.passed else "FAIL"
        lines.append(
            [
                local_time(row.start, zone),
                row.agent_label,
                row.queue or "",
                row.language or "",
                clock(row.duration) if row.duration else "",
                f"{row.score:.0f}%" if row.score is not None else "",
                result,
                ", ".join(f"{flag.id} ({flag.severity})" for flag in row.flags),
                row.status,
                _review_cell(row),
                row.call_id,
            ]
        )
    return pd.DataFrame(lines, columns=HEADERS)


def _title_html(detail: CallDetail, zone: tzinfo) -> str:
    call = detail.call
    parts = [
        f"<b>Call {escape(call.call_id)}</b>",
        local_time(call.start, zone, "%Y-%m-%d %H:%M:%S %Z"),
        escape(call.direction.value),
        f"queue {escape(call.queue)}" if call.queue else "",
        escape(call.agent_name or call.agent or "unknown agent"),
        f"caller {escape(call.caller)}" if call.caller else "",
        f"to {escape(call.destination)}" if call.destination else "",
        f"status {escape(detail.status)}",
    ]
    html = " · ".join(part for part in parts if part)
    if detail.error:
        html += f'<div class="qa-reason">{escape(detail.error)}</div>'
    return f'<div class="qa-title">{html}</div>'


@dataclass(frozen=True)
class CallsWidgets:
    """The Calls tab's components: the filters, the list, and the call view."""

    agent: gr.Dropdown
    flagged: gr.Checkbox
    failed: gr.Checkbox
    refresh: gr.Button
    table: gr.Dataframe
    open_call: gr.State  # the call this user has open (per browser session)
    panel: ReviewPanel
    view: list[Any]  # what opening a call fills, in :func:`open_call`'s order


def layout(ctx: AppContext) -> CallsWidgets:
    """Lay out the Calls tab inside the current Blocks context (the review panel wires its own
    Claim, Release, Next call and Submit).

    The call view is the review desk: the title and the player with the waveform across the
    top, then three panes side by side, each scrolling on its own within the window — the
    transcript, the evidence (scorecard and flags), the review form with Submit on top — so a
    reviewer at 1366×768 sees all three and Submit without scrolling the page."""
    open_call_state = gr.State(None)
    with gr.Row():
        agent = gr.Dropdown(
            label="Agent", choices=[("All agents", _ALL_AGENTS)], value=_ALL_AGENTS, scale=3
        )
        flagged = gr.Checkbox(label="Flagged only", scale=1)
        failed = gr.Checkbox(label="Failed only", scale=1)
        refresh = gr.Button("Refresh", size="sm", scale=1)
    table = gr.Dataframe(
        value=table_frame([]),
        headers=HEADERS,
        interactive=False,
        wrap=True,
        max_height=320,
        max_chars=60,
        elem_id="qa-calls",
        label=f"Calls (newest {LIST_LIMIT} first, times in {ctx.zone.key}): select one to open it",
    )
    title = gr.HTML(_PROMPT, elem_id="qa-call-title", css_template=CSS, js_on_load=KEYS_JS)
    with gr.Row(equal_height=False):
        audio = call_audio(AUDIO_ELEM_ID, show_label=False, scale=2)
        audio_note = gr.HTML(
            "", elem_id="qa-audio-note", js_on_load=SEEK_JS, css_template=CSS, scale=3
        )
    with gr.Row(equal_height=False, elem_id="qa-desk"):
        with gr.Column(scale=4, elem_classes=["qa-pane"], elem_id="qa-pane-transcript"):
            transcript = gr.HTML(
                "", elem_id="qa-transcript", js_on_load=TRANSCRIPT_JS, css_template=CSS
            )
        with gr.Column(scale=3, elem_classes=["qa-pane"], elem_id="qa-pane-evidence"):
            scorecard = gr.HTML("", elem_id="qa-scorecard", js_on_load=SEEK_JS, css_template=CSS)
            flags = gr.HTML("", elem_id="qa-flags", js_on_load=SEEK_JS, css_template=CSS)
        with gr.Column(scale=4, elem_classes=["qa-pane"], elem_id="qa-pane-review"):
            panel = ReviewPanel(ctx, scorecard)
    view = [title, audio, audio_note, transcript, scorecard, flags, open_call_state,
            *panel.outputs]  # fmt: skip

    def listed(user: User, agent_key: str, flagged_only: bool, failed_only: bool) -> list[Any]:
        return [filter_table(ctx, user, agent_key, flagged_only, failed_only)]

    # The list shows each claim, release and submission: filled with the call view.
    following = FollowingLists([table], [agent, flagged, failed], listed)
    panel.opens_calls_in(view, partial(open_call, ctx), following)
    return CallsWidgets(agent, flagged, failed, refresh, table, open_call_state, panel, view)


def _rows(ctx: AppContext, agent_key: str, flagged_only: bool, failed_only: bool) -> list[CallRow]:
    with ctx.db() as db:
        return list_calls(
            db,
            agent=agent_key or None,
            flagged=True if flagged_only else None,
            passed=False if failed_only else None,
            limit=LIST_LIMIT,
        )


_NO_CALLS = (
    "No calls in the store yet: run `qa run --config SITE.toml --db STORE` on the recordings, "
    "then press Refresh"
)


def load_page(ctx: AppContext, user: User) -> tuple[Any, Any]:
    """The agent filter's choices and the newest calls, when the page loads (nothing for a role
    that may not list calls: agents see their own in the My evaluations tab)."""
    if not can(user.role, Action.VIEW_CALLS):
        return gr.Dropdown(choices=[]), table_frame([], ctx.zone)
    with ctx.db() as db:
        everything = list_calls(db, limit=LIST_LIMIT)
        choices = [
            ("All agents", _ALL_AGENTS),
            *((label, key) for key, label in list_agents(db)),
        ]
    frame = table_frame(everything, ctx.zone)
    if frame.empty:  # say what to do rather than show a bare header
        return gr.Dropdown(choices=choices), gr.Dataframe(value=frame, label=_NO_CALLS)
    return gr.Dropdown(choices=choices), frame


def filter_table(
    ctx: AppContext, user: User, agent_key: str, flagged_only: bool, failed_only: bool
) -> pd.DataFrame:
    """The calls of one agent (blank: all), flagged or failed only when asked."""
    permitted(user, Action.VIEW_CALLS)
    return table_frame(_rows(ctx, agent_key, flagged_only, failed_only), ctx.zone)


def open_call(ctx: AppContext, user: User, call_id: str | None) -> list[Any]:
    """The call view's values for ``call_id`` as ``user`` sees it (numbers masked unless the
    role may see them); the prompt when no call is given. A gr.Error for an unknown call."""
    if not call_id:
        return [_PROMPT, None, "", "", "", "", None, *panel_values(None, user, ctx.zone)]
    permitted(user, Action.VIEW_CALLS)
    with ctx.db() as db:
        try:
            detail = call_detail(db, call_id, viewer_role=user.role)
        except CallNotFoundError as exc:
            raise gr.Error(str(exc)) from None
        ctx.prune_audio()
        try:
            playable = playable_audio(db, call_id, ctx.audio_dir)
            audio_value = str(playable.path)
            marks = evidence_marks(detail.scorecards, detail.flags)
            note = (
                f'Audio: {escape(playable.description)}. <span id="qa-speed">1×</span>'
                + waveform_html(peaks(playable.path), playable.duration, marks)
            )
        except RecordingError as exc:
            logger.warning("no audio for call %s: %s", call_id, exc)
            why = str(exc) if not detail.masked else mask_reviewer_text(str(exc))
            audio_value, note = None, f"<b>No audio:</b> {escape(why)}"
        review = panel_values(detail, user, ctx.zone)
        mood = sentiment_html(load_sentiment(db, call_id), masked=detail.masked)
    logger.info("%s opened call %s (masked=%s)", user.username, call_id, detail.masked)
    return [
        _title_html(detail, ctx.zone),
        audio_value,
        note,
        # how the call felt, at the head of the transcript pane: in the title it would push the
        # desk's panes below the window
        mood + transcript_html(detail.transcript, masked=detail.masked),
        scorecard_html(detail.scorecards, detail.reviewed),
        flags_html(detail.flags),
        call_id,
        *review,
    ]


def refresh_all(
    ctx: AppContext,
    user: User,
    agent_key: str,
    flagged_only: bool,
    failed_only: bool,
    call_id: str | None,
) -> list[Any]:
    """The list again, and the open call again if there is one (else the view is left as is)."""
    frame = filter_table(ctx, user, agent_key, flagged_only, failed_only)
    if call_id:
        return [frame, *open_call(ctx, user, call_id)]
    return [frame, *[gr.skip()] * VIEW_SIZE]


def open_linked_call(ctx: AppContext, user: User, call_id: str | None) -> list[Any]:
    """The call a link names (``REVIEW_URL/?call=ID``, as alert messages carry), opened in the call
    view when the page loads; nothing for no link, or for a role that opens calls elsewhere (an
    agent: My evaluations); a refused or unknown call is a warning, the page as it was."""
    if not call_id or not can(user.role, Action.VIEW_CALLS):
        return [gr.skip()] * VIEW_SIZE
    try:
        return open_call(ctx, user, call_id)
    except gr.Error as refusal:
        return refused(str(refusal.message), VIEW_SIZE)


def build_tab(ctx: AppContext, app: gr.Blocks) -> CallView:
    """Lay out the Calls tab inside the current Blocks context and wire its events; the call
    view it returns is where other tabs open calls."""
    w = layout(ctx)

    def on_load(request: gr.Request) -> list[Any]:
        user = ctx.viewer(request)
        linked = (request.query_params or {}).get("call") if request else None
        return [*load_page(ctx, user), *open_linked_call(ctx, user, linked)]

    def on_filter(agent_key: str, flagged_only: bool, failed_only: bool,
                  request: gr.Request) -> pd.DataFrame:  # fmt: skip
        return filter_table(ctx, ctx.viewer(request), agent_key, flagged_only, failed_only)

    def on_refresh(agent_key: str, flagged_only: bool, failed_only: bool, call_id: str | None,
                   request: gr.Request) -> list[Any]:  # fmt: skip
        user = ctx.viewer(request)
        return refresh_all(ctx, user, agent_key, flagged_only, failed_only, call_id)

    def on_select(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        return open_call(ctx, ctx.viewer(request), selected_cell(evt, _CALL_ID_COLUMN))

    filters = [w.agent, w.flagged, w.failed]
    # Progress shows on the list or the call's title only (not on each of the view's ~90
    # parts): Gradio's page revisits every progress target of past events at each status
    # change of any event, so each extra target slows every later click (docs/ui.md).
    app.load(on_load, inputs=None, outputs=[w.agent, w.table, *w.view], show_progress_on=w.table)
    gr.on([w.agent.input, w.flagged.input, w.failed.input], on_filter, inputs=filters,
          outputs=w.table)  # fmt: skip
    w.refresh.click(on_refresh, inputs=[*filters, w.open_call], outputs=[w.table, *w.view],
                    show_progress_on=w.table)  # fmt: skip
    w.table.select(on_select, inputs=None, outputs=w.view, show_progress_on=w.view[0]).then(
        None, js=SCROLL_TO_CALL_JS
    )
    return CallView(outputs=w.view, open=partial(open_call, ctx), changed=w.panel.changed)


#: Runs in the browser once a call is open: the call view at the top of the window, the desk.
SCROLL_TO_CALL_JS = "() => { document.querySelector('#qa-call-title')?.scrollIntoView(); }"
