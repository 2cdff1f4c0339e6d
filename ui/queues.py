"""The Queues tab: pick a review queue (or your own worklist), claim a call, open it.

The queues are brought up to date (qa.review.queues.refresh_queues) whenever the tab loads or
Refresh is pressed. Selecting a row picks the call; **Claim and open** takes it
(qa.review.assignment.claim) and opens it in the Calls tab's call view with the review form;
**Open** opens it without claiming.
Supervisors and admins also assign the picked call to a reviewer, deal a whole queue round-robin
to several, or mark a submitted review disputed.

:func:`layout` places the components; the handlers (``load``, ``open_picked``, ``assign_picked``,
``deal_queue``, ``dispute_picked``) are plain functions of the context, the user and the inputs.
The Calls tab's call view, the app's tabs and the Queues tab itself are handed to
:func:`build_tab`.
Run alone for a look: ``python -m ui var/demo.db --tabs calls,queues`` (calls open in the Calls
tab, so it comes along).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.assignment import assign, assign_round_robin, claim, dispute, reviewers, worklist
from qa.review.queues import QUEUE_LABELS, Queue, RefreshSummary, queue_calls, queue_counts
from qa.review.state import ReviewStatus, ReviewWorkflowError, get_review
from ui.context import AppContext, permitted, refused
from ui.render import local_time
from ui.widgets import CallView, selected_cell

logger = logging.getLogger(__name__)

MINE = "mine"  # the worklist's key among the queue choices
HEADERS = ["Time", "Agent", "Queue", "Why", "Score", "Result", "Review", "Assignee",
           "Call ID"]  # fmt: skip
_CALL_ID_COLUMN = HEADERS.index("Call ID")
LIMIT = 500
_OPEN = (ReviewStatus.NEW, ReviewStatus.IN_REVIEW)


def queue_choices(counts: dict[Queue, tuple[int, int]]) -> list[tuple[str, str]]:
    """The dropdown's choices: the worklist, then each queue with its open and total calls."""
    return [("My worklist", MINE)] + [
        (f"{QUEUE_LABELS[q]} ({counts.get(q, (0, 0))[0]} open of {counts.get(q, (0, 0))[1]})", q)
        for q in Queue
    ]


def queue_frame(db: Any, key: str, user: User, open_only: bool, zone: Any = None) -> pd.DataFrame:
    """The rows of the queue ``key`` (or the user's worklist) as the table shows them, times in
    the site's ``zone`` (None: UTC)."""
    zone = zone or ZoneInfo("UTC")
    lines = []
    if key == MINE:
        for item in worklist(db, user.username):
            lines.append([local_time(item.start, zone), item.agent_label,
                          ", ".join(item.queues), "assigned to you", "", "", item.status.value,
                          user.username, item.call_id])  # fmt: skip
        return pd.DataFrame(lines, columns=HEADERS)
    statuses = _OPEN if open_only else None
    for row in queue_calls(db, key, statuses=statuses, limit=LIMIT):
        result = "" if row.passed is None else "pass" if row.passed else "FAIL"
        lines.append([local_time(row.start, zone), row.agent_label, row.queue.value,
                      row.reason, f"{row.score:.0f}%" if row.score is not None else "", result,
                      row.status.value, row.assignee or "", row.call_id])  # fmt: skip
    return pd.DataFrame(lines, columns=HEADERS)


@dataclass(frozen=True)
class QueuesWidgets:
    """The Queues tab's components."""

    queue: gr.Dropdown
    open_only: gr.Checkbox
    refresh: gr.Button
    table: gr.Dataframe
    picked: gr.Textbox
    claim_open: gr.Button
    open_button: gr.Button
    lead_tools: gr.Accordion  # supervisors' tools: shown by :func:`load`
    reviewer: gr.Dropdown
    assign_button: gr.Button
    deal_button: gr.Button
    reason: gr.Textbox
    dispute_button: gr.Button
    note: gr.Markdown


def layout() -> QueuesWidgets:
    """Lay out the Queues tab inside the current Blocks context."""
    with gr.Row():
        queue = gr.Dropdown(label="Queue", choices=queue_choices({}), value=MINE, scale=3,
                            elem_id="qa-queue-pick")  # fmt: skip
        open_only = gr.Checkbox(label="Open reviews only", value=True, scale=1)
        refresh = gr.Button("Refresh", size="sm", scale=1)
    table = gr.Dataframe(value=pd.DataFrame([], columns=HEADERS), headers=HEADERS,
                         interactive=False, wrap=True, max_height=360, max_chars=80,
                         elem_id="qa-queue",
                         label="Calls in the queue: select one")  # fmt: skip
    with gr.Row():
        picked = gr.Textbox(label="Picked call", interactive=False, scale=2,
                            elem_id="qa-queue-picked")  # fmt: skip
        claim_open = gr.Button("Claim and open", variant="primary", scale=1, visible=False,
                               elem_id="qa-queue-claim")  # fmt: skip
        open_button = gr.Button("Open", scale=1, elem_id="qa-queue-open")
    with gr.Accordion("Assign (supervisors)", open=False, visible=False,
                      elem_id="qa-assign") as lead_tools:  # fmt: skip
        with gr.Row():
            reviewer = gr.Dropdown(label="Reviewer(s)", multiselect=True, choices=[], scale=3)
            assign_button = gr.Button("Assign picked call", scale=1)
            deal_button = gr.Button("Deal open queue round-robin", scale=1)
        with gr.Row():
            reason = gr.Textbox(label="Why the review is disputed", scale=3)
            dispute_button = gr.Button("Mark picked call disputed", scale=1)
    note = gr.Markdown(elem_id="qa-queue-note")
    return QueuesWidgets(queue, open_only, refresh, table, picked, claim_open, open_button,
                         lead_tools, reviewer, assign_button, deal_button, reason,
                         dispute_button, note)  # fmt: skip


#: what :func:`load` fills: the queue choices, the rows, the supervisors' tools, the reviewers to
#: choose from, the count line and the Claim button
LOAD_SIZE = 6


def load(ctx: AppContext, user: User, key: str, only_open: bool) -> list[Any]:
    """The queue ``key`` (or the worklist), brought up to date after a run: the queue choices
    with their counts, the rows, the supervisors' tools (shown to those who assign) with the
    reviewers to choose from, and a line saying how many calls. A role that may not see the
    queues (agents) gets nothing: no queue is read for them."""
    if not can(user.role, Action.VIEW_QUEUES):
        return [gr.skip()] * LOAD_SIZE
    with ctx.db() as db:
        summary = ctx.queues.refresh(db, ctx.review, ctx.zone, ctx.agreement)
        counts = {c.queue: (c.open, c.total) for c in queue_counts(db)}
        frame = queue_frame(db, key or MINE, user, only_open, ctx.zone)
        names = [u.username for u in reviewers(db)]
    lead = can(user.role, Action.ASSIGN_REVIEWS)
    added = f" ({summary.total} call(s) newly queued)" if summary.total else ""
    note = f"{len(frame)} call(s){added}.{_trusted_note(summary)}"
    if frame.empty:
        note = _EMPTY_MINE if (key or MINE) == MINE else _EMPTY_QUEUE
        note += added and f" {added.strip()}."
        note += _trusted_note(summary)
    return [
        gr.Dropdown(choices=queue_choices(counts), value=key or MINE),
        frame,
        gr.Accordion(visible=lead),
        gr.Dropdown(choices=names) if lead else gr.skip(),
        note,
        gr.Button(visible=can(user.role, Action.REVIEW_CALLS)),
    ]


def _trusted_note(summary: RefreshSummary) -> str:
    """Say how many calls trusted rules (and flags) kept out of which queue in this refresh."""
    kept = [f"{count} out of {QUEUE_LABELS[queue]}" for queue, count in summary.trusted.items()]
    if not kept:
        return ""
    return (f" Rules the site trusts kept {' and '.join(kept)}: their fails (or trusted flags) "
            "alone queue no call (see the Rules tab); the verdicts stand.")  # fmt: skip


_EMPTY_MINE = (
    "Your worklist is empty: pick a queue above and **Claim and open** a call, or press "
    "**Next call** in the call view."
)
_EMPTY_QUEUE = "No call in this queue: pick another queue, or untick **Open reviews only**."


def open_picked(ctx: AppContext, user: User, view: CallView, call_id: str, take: bool) -> list[Any]:
    """Switch to the Calls tab with the picked call open in ``view``; with ``take``, claim it
    first (reviewers, supervisors, admins). A refusal changes nothing and says why."""
    if not call_id:
        return refused("Select a call in the table first.", 1 + len(view.outputs))
    if take:
        permitted(user, Action.REVIEW_CALLS)
        with ctx.db() as db:
            review = get_review(db, call_id)
            # A submitted or disputed review is not claimed but worked on: open it, and the
            # form says whether this user may submit it again.
            submitted = review is not None and review.status not in _OPEN
            try:
                if not submitted:
                    claim(db, call_id, user)
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), 1 + len(view.outputs))
    return [gr.Tabs(selected="calls"), *view.open(user, call_id)]


def assign_picked(ctx: AppContext, user: User, call_id: str, names: list[str] | None) -> str:
    """Assign the picked call to the one reviewer chosen (supervisors, admins)."""
    permitted(user, Action.ASSIGN_REVIEWS)
    if not call_id:
        return refused("Select a call in the table first.", 1)[0]
    names = list(names or [])
    if len(names) != 1:
        return refused("Choose exactly one reviewer to assign the call to.", 1)[0]
    with ctx.db() as db:
        try:
            assign(db, call_id, names[0], user)
        except (ReviewWorkflowError, PermissionDeniedError) as refusal:
            return refused(str(refusal), 1)[0]
    return f"Call {call_id} assigned to {names[0]}."


def deal_queue(ctx: AppContext, user: User, names: list[str] | None, key: str) -> str:
    """Deal the open calls of the queue ``key`` (the worklist: every queue) round-robin to the
    reviewers chosen (supervisors, admins)."""
    permitted(user, Action.ASSIGN_REVIEWS)
    with ctx.db() as db:
        try:
            dealt = assign_round_robin(db, list(names or []), user,
                                       queue=None if key == MINE else key)  # fmt: skip
        except (ReviewWorkflowError, PermissionDeniedError) as refusal:
            return refused(str(refusal), 1)[0]
    return "Assigned: " + "; ".join(f"{name} {len(ids)}" for name, ids in dealt.items())


def dispute_picked(ctx: AppContext, user: User, call_id: str, why: str) -> str:
    """Mark the picked call's submitted review disputed, saying why (supervisors, admins)."""
    permitted(user, Action.DISPUTE_REVIEWS)
    if not call_id:
        return refused("Select a call in the table first.", 1)[0]
    with ctx.db() as db:
        try:
            dispute(db, call_id, user, why or "")
        except (ReviewWorkflowError, PermissionDeniedError) as refusal:
            return refused(str(refusal), 1)[0]
    return f"Call {call_id} marked disputed."


def build_tab(
    ctx: AppContext, app: gr.Blocks, view: CallView, tabs: gr.Tabs, own_tab: gr.Tab | None = None
) -> None:
    """Lay out the Queues tab inside the current Blocks context and wire its events: calls open
    in ``view`` (the Calls tab's), and ``tabs`` switch to it. ``own_tab``, the tab it is laid out
    in, loads the list again when it is shown; without one, the list follows each change of a
    review in ``view``."""
    w = layout()

    def on_load(key: str, only_open: bool, request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request), key, only_open)

    def on_pick(evt: gr.SelectData) -> str:
        return selected_cell(evt, _CALL_ID_COLUMN) or ""

    def on_claim_open(call_id: str, request: gr.Request) -> list[Any]:
        return open_picked(ctx, ctx.viewer(request), view, call_id, True)

    def on_open(call_id: str, request: gr.Request) -> list[Any]:
        return open_picked(ctx, ctx.viewer(request), view, call_id, False)

    def on_assign(call_id: str, names: list[str] | None, request: gr.Request) -> str:
        return assign_picked(ctx, ctx.viewer(request), call_id, names)

    def on_deal(names: list[str] | None, key: str, request: gr.Request) -> str:
        return deal_queue(ctx, ctx.viewer(request), names, key)

    def on_dispute(call_id: str, why: str, request: gr.Request) -> str:
        return dispute_picked(ctx, ctx.viewer(request), call_id, why)

    load_inputs = [w.queue, w.open_only]
    load_outputs = [w.queue, w.table, w.lead_tools, w.reviewer, w.note, w.claim_open]
    app.load(on_load, inputs=load_inputs, outputs=load_outputs)
    gr.on([w.queue.input, w.open_only.input, w.refresh.click], on_load, inputs=load_inputs,
          outputs=load_outputs)  # fmt: skip
    w.table.select(on_pick, inputs=None, outputs=w.picked)
    # A review claimed, released or submitted in the call view (another tab): the list is
    # loaded again when its tab is shown. Following every change as it happened put a second
    # round trip, and the page's walk of it, on each Submit of the desk (docs/ui.md).
    if own_tab is not None:
        own_tab.select(on_load, inputs=load_inputs, outputs=load_outputs, show_progress_on=w.table)
    elif view.changed is not None:  # laid out outside a tab: follow each change
        view.changed.change(on_load, inputs=load_inputs, outputs=load_outputs)
    for button, handler in ((w.claim_open, on_claim_open), (w.open_button, on_open)):
        # Progress on the call's title only: with the tabs a progress target, Gradio's page
        # would walk the whole app at every later status change (ui.calls.build_tab).
        title = view.outputs[0]
        opened = button.click(
            handler, inputs=w.picked, outputs=[tabs, *view.outputs], show_progress_on=title
        )
        opened.then(None, js=_SCROLL_JS)
    lead_actions: tuple[tuple[gr.Button, Callable[..., str], list[Any]], ...] = (
        (w.assign_button, on_assign, [w.picked, w.reviewer]),
        (w.deal_button, on_deal, [w.reviewer, w.queue]),
        (w.dispute_button, on_dispute, [w.picked, w.reason]),
    )
    for button, lead_handler, inputs in lead_actions:
        button.click(lead_handler, inputs=inputs, outputs=w.note).then(
            on_load, inputs=load_inputs, outputs=load_outputs
        )


# Runs in the browser once the call is open: bring the call view into sight.
_SCROLL_JS = "() => { document.querySelector('#qa-call-title')?.scrollIntoView(); }"
