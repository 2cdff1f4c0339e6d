"""The Queues tab: pick a review queue (or your own worklist), claim a call, open it.

The queues are brought up to date (qa.review.queues.refresh_queues) whenever the tab loads or
Refresh is pressed. Selecting a row picks the call; **Claim and open** takes it
(qa.review.assignment.claim) and opens it in the Calls tab's call view with the review form;
**Open** opens it without claiming.
Supervisors and admins also assign the picked call to a reviewer, deal a whole queue round-robin
to several, or mark a submitted review disputed.

Run alone for a look: ``python -m ui.queues var/demo.db`` (the Calls tab comes along: calls open
there).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.assignment import assign, assign_round_robin, claim, dispute, reviewers, worklist
from qa.review.queues import (
    QUEUE_LABELS,
    Queue,
    RefreshSummary,
    latest_scorecard_id,
    queue_calls,
    queue_counts,
    refresh_queues,
)
from qa.review.state import ReviewStatus, ReviewWorkflowError
from ui.context import AppContext, refused

logger = logging.getLogger(__name__)

MINE = "mine"  # the worklist's key among the queue choices
HEADERS = ["Time (UTC)", "Agent", "Queue", "Why", "Score", "Result", "Review", "Assignee",
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


def queue_frame(db: Any, key: str, user: User, open_only: bool) -> pd.DataFrame:
    """The rows of the queue ``key`` (or the user's worklist) as the table shows them."""
    lines = []
    if key == MINE:
        for item in worklist(db, user.username):
            lines.append([item.start.strftime("%Y-%m-%d %H:%M"), item.agent_label,
                          ", ".join(item.queues), "assigned to you", "", "", item.status.value,
                          user.username, item.call_id])  # fmt: skip
        return pd.DataFrame(lines, columns=HEADERS)
    statuses = _OPEN if open_only else None
    for row in queue_calls(db, key, statuses=statuses, limit=LIMIT):
        result = "" if row.passed is None else "pass" if row.passed else "FAIL"
        lines.append([row.start.strftime("%Y-%m-%d %H:%M"), row.agent_label, row.queue.value,
                      row.reason, f"{row.score:.0f}%" if row.score is not None else "", result,
                      row.status.value, row.assignee or "", row.call_id])  # fmt: skip
    return pd.DataFrame(lines, columns=HEADERS)


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Queues tab inside the current Blocks context and wire its events."""
    with gr.Row():
        queue = gr.Dropdown(label="Queue", choices=queue_choices({}), value=MINE, scale=3,
                            elem_id="qa-queue-pick")  # fmt: skip
        open_only = gr.Checkbox(label="Open reviews only", value=True, scale=1)
        refresh = gr.Button("Refresh", size="sm", scale=1)
    table = gr.Dataframe(value=pd.DataFrame([], columns=HEADERS), headers=HEADERS,
                         interactive=False, wrap=True, max_height=360, elem_id="qa-queue",
                         label="Calls in the queue: select one")  # fmt: skip
    with gr.Row():
        picked = gr.Textbox(label="Picked call", interactive=False, scale=2,
                            elem_id="qa-queue-picked")  # fmt: skip
        claim_open = gr.Button("Claim and open", variant="primary", scale=1,
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

    view = ctx.parts.get("call_view")
    tabs = ctx.parts.get("tabs")
    if view is None or tabs is None:
        raise RuntimeError("the Queues tab opens calls in the Calls tab: build that tab first")

    def load(key: str, only_open: bool, request: gr.Request) -> list[Any]:
        user = ctx.allowed(request, Action.VIEW_QUEUES)
        with ctx.db() as db:
            # Queues change only with new scorecards: refresh after a run, not on every load.
            mark = latest_scorecard_id(db)
            if ctx.parts.get("queues_refreshed_at") != mark:
                summary = refresh_queues(db, ctx.review, ctx.zone)
                ctx.parts["queues_refreshed_at"] = mark
            else:
                summary = RefreshSummary({})
            counts = {c.queue: (c.open, c.total) for c in queue_counts(db)}
            frame = queue_frame(db, key or MINE, user, only_open)
            names = [u.username for u in reviewers(db)]
        lead = can(user.role, Action.ASSIGN_REVIEWS)
        added = f" ({summary.total} call(s) newly queued)" if summary.total else ""
        return [
            gr.Dropdown(choices=queue_choices(counts), value=key or MINE),
            frame,
            gr.Accordion(visible=lead),
            gr.Dropdown(choices=names) if lead else gr.skip(),
            f"{len(frame)} call(s){added}.",
        ]

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[_CALL_ID_COLUMN]) if len(row) > _CALL_ID_COLUMN else ""

    def open_picked(call_id: str, take: bool, request: gr.Request) -> list[Any]:
        if not call_id:
            return refused("Select a call in the table first.", 1 + len(view.outputs))
        if take:
            user = ctx.allowed(request, Action.REVIEW_CALLS)
            with ctx.db() as db:
                try:
                    claim(db, call_id, user)
                except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                    return refused(str(refusal), 1 + len(view.outputs))
        return [gr.Tabs(selected="calls"), *view.open(call_id, request)]

    def lead_action(action: str, call_id: str, names: list[str] | None, why: str,
                    key: str, request: gr.Request) -> str:  # fmt: skip
        user = ctx.allowed(
            request, Action.DISPUTE_REVIEWS if action == "dispute" else Action.ASSIGN_REVIEWS
        )
        names = list(names or [])
        with ctx.db() as db:
            try:
                if action == "deal":
                    dealt = assign_round_robin(db, names, user, queue=None if key == MINE else key)
                    return "Assigned: " + "; ".join(
                        f"{name} {len(ids)}" for name, ids in dealt.items()
                    )
                if not call_id:
                    return refused("Select a call in the table first.", 1)[0]
                if action == "dispute":
                    dispute(db, call_id, user, why or "")
                    return f"Call {call_id} marked disputed."
                if len(names) != 1:
                    return refused("Choose exactly one reviewer to assign the call to.", 1)[0]
                assign(db, call_id, names[0], user)
                return f"Call {call_id} assigned to {names[0]}."
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), 1)[0]

    def claim_and_open(call_id: str, request: gr.Request) -> list[Any]:
        return open_picked(call_id, True, request)

    def just_open(call_id: str, request: gr.Request) -> list[Any]:
        return open_picked(call_id, False, request)

    def assign_picked(call_id: str, names: list[str] | None, why: str, key: str,
                      request: gr.Request) -> str:  # fmt: skip
        return lead_action("assign", call_id, names, why, key, request)

    def deal_queue(call_id: str, names: list[str] | None, why: str, key: str,
                   request: gr.Request) -> str:  # fmt: skip
        return lead_action("deal", call_id, names, why, key, request)

    def dispute_picked(call_id: str, names: list[str] | None, why: str, key: str,
                       request: gr.Request) -> str:  # fmt: skip
        return lead_action("dispute", call_id, names, why, key, request)

    load_outputs = [queue, table, lead_tools, reviewer, note]
    app.load(load, inputs=[queue, open_only], outputs=load_outputs)
    gr.on([queue.input, open_only.input, refresh.click], load, inputs=[queue, open_only],
          outputs=load_outputs)  # fmt: skip
    table.select(pick, inputs=None, outputs=picked)
    open_outputs = [tabs, *view.outputs]
    for button, handler in ((claim_open, claim_and_open), (open_button, just_open)):
        button.click(handler, inputs=picked, outputs=open_outputs).then(None, js=_SCROLL_JS)
    for button, lead_handler in ((assign_button, assign_picked), (deal_button, deal_queue),
                                 (dispute_button, dispute_picked)):  # fmt: skip
        button.click(lead_handler, inputs=[picked, reviewer, reason, queue], outputs=note).then(
            load, inputs=[queue, open_only], outputs=load_outputs
        )


# Runs in the browser once the call is open: bring the call view into sight.
_SCROLL_JS = "() => { document.querySelector('#qa-call-title')?.scrollIntoView(); }"


if __name__ == "__main__":
    from ui.app import serve

    serve(sys.argv[1], tabs=("calls", "queues"))
