"""The Appeals tab: supervisors (or the site's named QA leads) settle agents' appeals.

Each appeal asks for one item of an evaluation to count otherwise, with the agent's comment. The
lead reads it (open the call in the Calls tab to listen), writes why, and upholds the evaluation
or overturns the item; an overturned item counts from then on (qa.review.appeals). Who may settle
is checked on the server (``settle_appeals``, and ``[appeals] settled_by`` when the site names
its leads); other roles get a notice. Comments are masked for roles that may not see personal
numbers.

:func:`layout` places the components; the handlers (``load``, ``list_view``, ``show``,
``decide``) are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs appeals`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.masking import mask_personal_data
from qa.access.permissions import Action, PermissionDeniedError, can, sees_personal_data
from qa.access.roles import User
from qa.review.appeals import Appeal, AppealStatus, decide_appeal, get_appeal, list_appeals
from qa.review.state import ReviewWorkflowError
from ui.context import AppContext, permitted, refused
from ui.render import CSS, denied_html

logger = logging.getLogger(__name__)

HEADERS = ["#", "Opened (UTC)", "Call ID", "Agent", "Item", "Round", "Asked", "Status",
           "Decided by"]  # fmt: skip
DENIED = "Appeals are settled by supervisors and admins; ask one if an agent's appeal waits."
_ALL = "all"
_PROMPT = '<p class="qa-empty">Select an appeal to settle it.</p>'


def _text(user: User, text: str) -> str:
    return text if sees_personal_data(user.role) else mask_personal_data(text)


def appeals_table(appeals: list[Appeal]) -> pd.DataFrame:
    rows = [
        [a.appeal_id, a.opened_at.strftime("%Y-%m-%d %H:%M"), a.call_id, a.agent, a.target,
         a.round, f"{a.verdict_before.value} → {a.verdict_sought.value}", a.status.value,
         a.decided_by or ""]
        for a in appeals
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def appeal_html(user: User, appeal: Appeal) -> str:
    decided = (
        f"<p><b>{escape(appeal.status.value)}</b> by {escape(appeal.decided_by or '')} on "
        f"{appeal.decided_at:%Y-%m-%d %H:%M} UTC: “{escape(_text(user, appeal.decision_comment))}”"
        "</p>"
        if appeal.decided_at
        else "<p>Waiting for a decision.</p>"
    )
    return (
        f'<div class="qa-card" data-appeal="{appeal.appeal_id}"><h4>Appeal #{appeal.appeal_id}: '
        f"{escape(appeal.target)} on call {escape(appeal.call_id)} (round {appeal.round})</h4>"
        f"<p>Agent {escape(appeal.agent)} ({escape(appeal.opened_by)}) asks for "
        f"<b>{appeal.verdict_sought.value}</b> instead of <b>{appeal.verdict_before.value}</b>: "
        f"“{escape(_text(user, appeal.comment))}”</p>{decided}</div>"
    )


@dataclass(frozen=True)
class AppealsWidgets:
    """The Appeals tab's components: the notice, or the list and the decision tools."""

    denied: gr.HTML
    body: gr.Column
    status: gr.Dropdown
    refresh: gr.Button
    table: gr.Dataframe
    picked: gr.State
    detail: gr.HTML
    comment: gr.Textbox
    uphold: gr.Button
    overturn: gr.Button
    message: gr.Markdown


def layout() -> AppealsWidgets:
    """Lay out the Appeals tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-appeals-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-appeals") as body:
        with gr.Row():
            status = gr.Dropdown(
                label="Status", choices=[_ALL, *(s.value for s in AppealStatus)],
                value=AppealStatus.OPEN.value, scale=1,
            )  # fmt: skip
            refresh = gr.Button("Refresh", size="sm", scale=0)
        table = gr.Dataframe(
            value=appeals_table([]), headers=HEADERS, interactive=False, max_height=300,
            elem_id="qa-appeals-table", label="Appeals: select one to settle it",
        )  # fmt: skip
        picked = gr.State(None)
        detail = gr.HTML(_PROMPT, elem_id="qa-appeal-detail", css_template=CSS)
        comment = gr.Textbox(label="Why (the agent sees it)", lines=2,
                             elem_id="qa-appeal-comment")  # fmt: skip
        with gr.Row():
            uphold = gr.Button("Uphold the evaluation", elem_id="qa-appeal-uphold")
            overturn = gr.Button("Overturn the item", variant="primary",
                                 elem_id="qa-appeal-overturn")  # fmt: skip
        message = gr.Markdown(elem_id="qa-appeal-message")
    return AppealsWidgets(denied, body, status, refresh, table, picked, detail, comment, uphold,
                          overturn, message)  # fmt: skip


def list_view(ctx: AppContext, user: User, status_value: str) -> pd.DataFrame:
    """The appeals with ``status_value`` (``all``), oldest first."""
    permitted(user, Action.SETTLE_APPEALS)
    with ctx.db() as db:
        found = list_appeals(db, status=None if status_value == _ALL else status_value)
    return appeals_table(found)


def load(ctx: AppContext, user: User) -> list[Any]:
    """The notice for roles that may not settle appeals, else the open appeals."""
    if not can(user.role, Action.SETTLE_APPEALS):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip()]
    return ["", gr.Column(visible=True), list_view(ctx, user, AppealStatus.OPEN.value)]


def show(ctx: AppContext, user: User, appeal_id: int | None) -> list[Any]:
    """One appeal (the agent's comment masked unless the role may see personal data)."""
    if appeal_id is None:
        return [_PROMPT, None]
    permitted(user, Action.SETTLE_APPEALS)
    with ctx.db() as db:
        try:
            appeal = get_appeal(db, appeal_id)
        except ReviewWorkflowError as error:
            raise gr.Error(str(error)) from None
    return [appeal_html(user, appeal), appeal_id]


def decide(
    ctx: AppContext,
    user: User,
    appeal_id: int | None,
    overturn: bool,
    comment: str,
    status_value: str,
) -> list[Any]:
    """Uphold or overturn the picked appeal with ``comment``: the list, the appeal, a line
    saying so, the comment cleared. A refusal says why and changes nothing."""
    permitted(user, Action.SETTLE_APPEALS)
    if appeal_id is None:
        return refused("Select an appeal first.", 4)
    with ctx.db() as db:
        try:
            appeal = decide_appeal(db, user, appeal_id, overturn=overturn, comment=comment or "",
                                   settings=ctx.appeals, pass_marks=ctx.pass_marks)  # fmt: skip
        except (PermissionDeniedError, ReviewWorkflowError) as error:
            return refused(str(error), 4)
    return [list_view(ctx, user, status_value), appeal_html(user, appeal),
            f"Appeal #{appeal.appeal_id} {appeal.status.value}.", ""]  # fmt: skip


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Appeals tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_list(status_value: str, request: gr.Request) -> pd.DataFrame:
        return list_view(ctx, ctx.viewer(request), status_value)

    def on_select(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        row = evt.row_value or []
        return show(ctx, ctx.viewer(request), int(row[0]) if row else None)

    def on_decide(overturn: bool) -> Callable[..., list[Any]]:
        def handler(appeal_id: int | None, comment: str, status_value: str,
                    request: gr.Request) -> list[Any]:  # fmt: skip
            return decide(ctx, ctx.viewer(request), appeal_id, overturn, comment, status_value)

        return handler

    app.load(on_load, inputs=None, outputs=[w.denied, w.body, w.table])
    gr.on([w.refresh.click, w.status.input], on_list, inputs=[w.status], outputs=w.table)
    w.table.select(on_select, inputs=None, outputs=[w.detail, w.picked])
    outputs = [w.table, w.detail, w.message, w.comment]
    inputs = [w.picked, w.comment, w.status]
    w.uphold.click(on_decide(False), inputs=inputs, outputs=outputs)
    w.overturn.click(on_decide(True), inputs=inputs, outputs=outputs)
