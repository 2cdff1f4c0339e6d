"""The My evaluations tab: an agent's own calls and evaluations, to acknowledge and appeal.

An agent (role ``agent``, linked to the agent identity calls carry: ``qa users link-agent``) sees
their calls only, with personal numbers masked (qa.review.agent_view). Opening a call shows its
recording, transcript and the scorecard that counts with the reviewer's decisions; for an
evaluated call the agent acknowledges it and may appeal one item with a comment, within the
site's window (qa.review.appeals, ``[appeals]`` in the config). Every handler checks on the server
that the call is the agent's own: another agent's call is refused like one that does not exist.

:func:`layout` places the components; the handlers (``load``, ``open_call``, ``acknowledge_call``,
``appeal_item``) are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs my_calls`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.masking import mask_personal_data
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.agent_view import OwnCall, own_call, own_call_audio, own_calls
from qa.review.appeals import Appeal, acknowledge, acknowledged_revision, open_appeal
from qa.review.call_view import CallDetail, RecordingError
from qa.review.state import ReviewWorkflowError
from ui.context import AppContext, permitted, refused
from ui.render import CSS, denied_html, scorecard_html, transcript_html
from ui.widgets import selected_cell

logger = logging.getLogger(__name__)

HEADERS = ["Time (UTC)", "Queue", "Score", "Result", "Evaluation", "Acknowledged", "Appeals",
           "Call ID"]  # fmt: skip
APPEAL_HEADERS = ["#", "Item", "Asked", "Status", "Your comment", "Decided by", "Decision"]
_CALL_ID_COLUMN = HEADERS.index("Call ID")
DENIED = "This tab is for agents: it shows an agent's own calls and evaluations."
_PROMPT = '<p class="qa-empty">Select one of your calls to open it.</p>'


def calls_frame(calls: list[OwnCall]) -> pd.DataFrame:
    """The agent's calls, newest first."""
    rows = []
    for own in calls:
        row, follow = own.row, own.follow_up
        rows.append([
            row.start.strftime("%Y-%m-%d %H:%M"), row.queue or "",
            f"{row.score:.0f}%" if row.score is not None else "",
            "" if row.passed is None else "pass" if row.passed else "FAIL",
            "evaluated" if follow is not None else "not yet",
            "" if follow is None else "yes" if follow.acknowledged else "NO",
            "" if follow is None or not follow.appeals else
            f"{follow.appeals} ({follow.overturned} overturned)",
            row.call_id,
        ])  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def appeals_frame(appeals: tuple[Appeal, ...]) -> pd.DataFrame:
    rows = [
        [a.appeal_id, a.target, f"{a.verdict_before.value} → {a.verdict_sought.value}",
         a.status.value, mask_personal_data(a.comment), a.decided_by or "",
         mask_personal_data(a.decision_comment)]
        for a in appeals
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=APPEAL_HEADERS)


def _note(calls: list[OwnCall]) -> str:
    waiting = sum(1 for c in calls if c.follow_up is not None and not c.follow_up.acknowledged)
    return f"{len(calls)} call(s); **{waiting} evaluation(s) to acknowledge**."


def _item_choices(detail: CallDetail) -> list[tuple[str, str]]:
    """(label, 'scorecard_id:item_id') for each item of the evaluation, with what counts."""
    return [
        (f"{card.rubric_id}/{item.title or item.id} — counts {item.result.value}",
         f"{card.scorecard_id}:{item.id}")
        for card in detail.reviewed
        if card.reviewed
        for item in card.card.items
    ]  # fmt: skip


def _title(detail: CallDetail) -> str:
    call = detail.call
    review = detail.review
    if review is None or review.revision == 0:
        state = "not evaluated yet: the score is the machine's"
    else:
        state = f"evaluated by {escape(review.submitted_by or '')}"
        if review.comment:
            state += f": “{escape(review.comment)}”"
    return (
        f'<div class="qa-title"><b>Call {escape(call.call_id)}</b> · '
        f"{call.start:%Y-%m-%d %H:%M UTC} · queue {escape(call.queue or '-')} · "
        f"caller {escape(call.caller or '-')} · {state}</div>"
    )


def _ack_label(evaluated: bool, needs_ack: bool) -> str:
    if needs_ack:
        return "Acknowledge this evaluation"
    return "Acknowledged" if evaluated else "Not evaluated yet"


@dataclass(frozen=True)
class MyCallsWidgets:
    """The My evaluations tab's components."""

    denied: gr.HTML
    body: gr.Column
    note: gr.Markdown
    refresh: gr.Button
    table: gr.Dataframe
    open_call: gr.State
    title: gr.HTML
    audio: gr.Audio
    transcript: gr.HTML
    scorecard: gr.HTML
    acknowledge: gr.Button
    item: gr.Dropdown
    comment: gr.Textbox
    appeal: gr.Button
    appeals: gr.Dataframe
    message: gr.Markdown


def layout() -> MyCallsWidgets:
    """Lay out the My evaluations tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-my-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-my-calls") as body:
        with gr.Row():
            note = gr.Markdown(elem_id="qa-my-note")
            refresh = gr.Button("Refresh", size="sm", scale=0)
        table = gr.Dataframe(
            value=calls_frame([]), headers=HEADERS, interactive=False, max_height=300,
            elem_id="qa-my-table", label="Your calls: select one to open it",
        )  # fmt: skip
        open_call = gr.State(None)
        title = gr.HTML(_PROMPT, elem_id="qa-my-title", css_template=CSS)
        with gr.Row():
            with gr.Column(scale=3):
                audio = gr.Audio(label="Call audio", type="filepath", interactive=False,
                                 elem_id="qa-my-audio", buttons=[])  # fmt: skip
                transcript = gr.HTML("", elem_id="qa-my-transcript", css_template=CSS,
                                     max_height=500)  # fmt: skip
            with gr.Column(scale=2):
                scorecard = gr.HTML("", elem_id="qa-my-scorecard", css_template=CSS)
                acknowledge_button = gr.Button(
                    "Acknowledge this evaluation", variant="primary", elem_id="qa-my-ack"
                )
                item = gr.Dropdown(label="Appeal an item", choices=[], elem_id="qa-my-item")
                comment = gr.Textbox(label="Why it should count otherwise", lines=2,
                                     elem_id="qa-my-comment")  # fmt: skip
                appeal = gr.Button("Appeal the item", elem_id="qa-my-appeal")
                message = gr.Markdown(elem_id="qa-my-message")
        appeals = gr.Dataframe(
            value=appeals_frame(()), headers=APPEAL_HEADERS, interactive=False,
            label="Appeals of this call", elem_id="qa-my-appeals",
        )  # fmt: skip
    return MyCallsWidgets(denied, body, note, refresh, table, open_call, title, audio, transcript,
                          scorecard, acknowledge_button, item, comment, appeal, appeals,
                          message)  # fmt: skip


def _refusal(error: PermissionDeniedError | ReviewWorkflowError) -> gr.Error:
    return gr.Error(str(error))


def load(ctx: AppContext, user: User) -> list[Any]:
    """The tab for ``user``: a notice for roles without calls of their own, else the body with
    their calls and how many evaluations wait for an acknowledgement."""
    if not can(user.role, Action.VIEW_OWN_EVALUATIONS):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip(), gr.skip()]
    with ctx.db() as db:
        try:
            calls = own_calls(db, user)
        except PermissionDeniedError as error:  # not linked to an agent yet
            return [denied_html(str(error)), gr.Column(visible=False), gr.skip(), gr.skip()]
    return ["", gr.Column(visible=True), _note(calls), calls_frame(calls)]


def list_own(ctx: AppContext, user: User) -> list[Any]:
    """The note and the agent's calls again."""
    permitted(user, Action.VIEW_OWN_EVALUATIONS)
    with ctx.db() as db:
        try:
            calls = own_calls(db, user)
        except PermissionDeniedError as error:
            raise _refusal(error) from None
    return [_note(calls), calls_frame(calls)]


def open_call(ctx: AppContext, user: User, call_id: str | None) -> list[Any]:
    """One of the agent's calls: title, audio, transcript, scorecard, whether the evaluation
    still needs acknowledging, the items to appeal, the appeals. Another agent's call (or an
    unknown one) is refused on the server."""
    if not call_id:
        return [_PROMPT, None, "", "", gr.Button(interactive=False), gr.Dropdown(choices=[]),
                appeals_frame(()), None]  # fmt: skip
    permitted(user, Action.VIEW_OWN_EVALUATIONS)
    with ctx.db() as db:
        try:
            detail, appeals = own_call(db, user, call_id)
        except PermissionDeniedError as error:
            raise _refusal(error) from None
        ctx.prune_audio()
        try:
            audio = str(own_call_audio(db, user, call_id, ctx.audio_dir).path)
        except RecordingError as error:
            logger.warning("no audio for call %s: %s", call_id, error)
            audio = None
        acked = acknowledged_revision(db, call_id)
    review = detail.review
    evaluated = review is not None and review.revision > 0
    needs_ack = evaluated and review is not None and acked != review.revision
    logger.info("agent %s opened call %s", user.username, call_id)
    return [
        _title(detail),
        audio,
        transcript_html(detail.transcript, masked=detail.masked),
        scorecard_html(detail.scorecards, detail.reviewed),
        gr.Button(_ack_label(evaluated, needs_ack), interactive=needs_ack),
        gr.Dropdown(choices=_item_choices(detail), value=None),
        appeals_frame(appeals),
        call_id,
    ]


def acknowledge_call(ctx: AppContext, user: User, call_id: str | None) -> list[Any]:
    """Acknowledge the open call's evaluation: the list, the button and a line saying so."""
    permitted(user, Action.APPEAL_EVALUATIONS)
    if not call_id:
        return refused("Open one of your calls first.", 4)
    with ctx.db() as db:
        try:
            acknowledge(db, user, call_id)
        except (PermissionDeniedError, ReviewWorkflowError) as error:
            return refused(str(error), 4)
    note, frame = list_own(ctx, user)
    return [note, frame, gr.Button("Acknowledged", interactive=False),
            f"You acknowledged the evaluation of call {call_id}."]  # fmt: skip


def appeal_item(
    ctx: AppContext, user: User, call_id: str | None, item_key: str | None, comment: str
) -> list[Any]:
    """Appeal the chosen item of the open call's evaluation: the call's appeals, a line saying
    so, the comment cleared, and the list. A refusal (window closed, no comment, final) says
    why and changes nothing."""
    permitted(user, Action.APPEAL_EVALUATIONS)
    if not call_id or not item_key:
        return refused("Open one of your calls and choose the item to appeal.", 4)
    card_id, _, item_id = item_key.partition(":")
    with ctx.db() as db:
        try:
            appeal = open_appeal(db, user, call_id, int(card_id), item_id, comment or "",
                                 ctx.appeals)  # fmt: skip
            _, appeals = own_call(db, user, call_id)
        except (PermissionDeniedError, ReviewWorkflowError, ValueError) as error:
            return refused(str(error), 4)
    _, frame = list_own(ctx, user)
    return [appeals_frame(appeals), f"Appeal #{appeal.appeal_id} sent: {appeal.target} "
            f"{appeal.verdict_before.value} → {appeal.verdict_sought.value}.", "",
            frame]  # fmt: skip


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the My evaluations tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_refresh(request: gr.Request) -> list[Any]:
        return list_own(ctx, ctx.viewer(request))

    def on_select(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        return open_call(ctx, ctx.viewer(request), selected_cell(evt, _CALL_ID_COLUMN))

    def on_ack(call_id: str | None, request: gr.Request) -> list[Any]:
        return acknowledge_call(ctx, ctx.viewer(request), call_id)

    def on_appeal(call_id: str | None, item_key: str | None, comment: str,
                  request: gr.Request) -> list[Any]:  # fmt: skip
        return appeal_item(ctx, ctx.viewer(request), call_id, item_key, comment)

    view = [w.title, w.audio, w.transcript, w.scorecard, w.acknowledge, w.item, w.appeals,
            w.open_call]  # fmt: skip
    app.load(on_load, inputs=None, outputs=[w.denied, w.body, w.note, w.table])
    w.refresh.click(on_refresh, inputs=None, outputs=[w.note, w.table])
    w.table.select(on_select, inputs=None, outputs=view)
    w.acknowledge.click(on_ack, inputs=[w.open_call],
                        outputs=[w.note, w.table, w.acknowledge, w.message])  # fmt: skip
    w.appeal.click(on_appeal, inputs=[w.open_call, w.item, w.comment],
                   outputs=[w.appeals, w.message, w.comment, w.table])  # fmt: skip
