"""The Complaints tab: the overdue list, every case, and working one (owner, status, the
customer told who owns it, reply).

Every role sees the cases (the customer's words masked unless the role may see personal data).
Reviewers, supervisors and admins may open a case on a call (``open_complaints``); supervisors
and admins change a case's owner and status (``manage_complaints``); they and a case's owner
record that the customer was told who owns it (due within four hours) and the reply. Cases from
complaint flags are opened when the tab loads.

Supervisors, auditors and admins also get the do-not-disturb list (``export_data``), with a
CSV download; customer numbers masked unless the role may see personal data.

:func:`layout` places the components; the handlers (``load``, ``reload``, ``show``, ``dnd_list``,
``set_case_owner``, ``set_case_status``, ``confirm_case_owner``, ``record_case_reply``,
``open_new_case``) are plain
functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs complaints`` (login as with
``qa serve``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.masking import mask_personal_data
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.access.users import list_users
from qa.records.complaints import (
    SEVERITIES,
    CaseError,
    CaseEvent,
    CaseStatus,
    ComplaintCase,
    OverdueCase,
    case_events,
    confirm_ownership,
    get_case,
    list_cases,
    open_case,
    overdue_cases,
    record_reply,
    set_owner,
    set_status,
    sync_complaint_cases,
)
from qa.records.export import ExportKind, export_table
from ui.context import AppContext, keeps_page, permitted
from ui.render import CSS, expandable_html, local_time
from ui.widgets import write_export

logger = logging.getLogger(__name__)

OVERDUE_HEADERS = ["Case", "Call", "Agent", "Escalated to", "Due", "Overdue by", "Owner",
                   "Status"]  # fmt: skip
CASE_HEADERS = ["Case", "Complained", "Call", "Agent", "Severity", "Source", "Status",
                "Owner", "Escalation", "Summary"]  # fmt: skip
# column heading -> the dnd export's field
DND_HEADERS = {"Customer": "customer_number", "Kind refused": "kind", "Call": "call_id",
               "Start": "start", "Agent": "agent_name", "Said": "quote",
               "At": "quote_at"}  # fmt: skip
_ALL = "all"
_PROMPT = '<p class="qa-empty">Select a case in either table to work on it.</p>'


def _when(value: datetime | None, zone: tzinfo = UTC) -> str:
    return local_time(value, zone)


def _summary(case: ComplaintCase, masked: bool) -> str:
    return mask_personal_data(case.summary) if masked else case.summary


def _escalation(case: ComplaintCase, now: datetime, zone: tzinfo = UTC) -> str:
    if not case.active:
        return "-"
    level = case.escalation(now)
    if level is not None:
        return f"OVERDUE → {level.escalate_to}"
    upcoming = case.next_deadline(now)
    due = _when(upcoming.due, zone) if upcoming else ""
    return f"{upcoming.escalation.milestone.value} due {due}" if upcoming else "-"


def overdue_frame(overdue: list[OverdueCase], now: datetime, zone: tzinfo = UTC) -> pd.DataFrame:
    """The overdue list (qa.records.complaints.overdue_cases), most escalated first; times in
    the site's ``zone``."""
    rows = []
    for late in overdue:
        hours = int(late.overdue_by(now).total_seconds() // 3600)
        case = late.case
        rows.append([case.case_id, case.call_id, case.agent_label, late.escalation.escalate_to,
                     _when(late.due, zone), f"{hours // 24}d {hours % 24}h", case.owner or "-",
                     case.status.value])  # fmt: skip
    return pd.DataFrame(rows, columns=OVERDUE_HEADERS)


def cases_frame(
    cases: list[ComplaintCase], now: datetime, masked: bool, zone: tzinfo = UTC
) -> pd.DataFrame:
    """Every case, newest complaint first; times in the site's ``zone``."""
    rows = [
        [c.case_id, _when(c.opened_at, zone), c.call_id, c.agent_label, c.severity, c.source,
         c.status.value, c.owner or "-", _escalation(c, now, zone), _summary(c, masked)]
        for c in cases
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=CASE_HEADERS)


def case_html(
    case: ComplaintCase, events: list[CaseEvent], now: datetime, masked: bool,
    zone: tzinfo = UTC,
) -> str:  # fmt: skip
    """One case: its facts, its deadlines as of now, and its history (times in the site's
    ``zone``; long texts shortened, a click away from the rest)."""
    deadlines = "".join(
        f'<div class="qa-evidence">{escape(d.escalation.description)}: due {_when(d.due, zone)} — '
        f"<b>{escape(d.state)}</b></div>"
        for d in case.deadlines(now)
    )
    history = "".join(
        f'<div class="qa-evidence">{_when(e.at, zone)} <b>{escape(e.by)}</b> {escape(e.action)}'
        + (f" {escape(e.before or '-')} → {escape(e.after)}" if e.action != "opened" else "")
        + (f": “{expandable_html(mask_personal_data(e.note) if masked else e.note)}”"
           if e.note else "")
        + "</div>"
        for e in events
    )  # fmt: skip
    return (
        f'<div class="qa-card" data-case="{case.case_id}"><h4>Case {case.case_id} · call '
        f"{escape(case.call_id)} · {escape(case.agent_label)} · "
        f'<span class="qa-verdict qa-sev-{escape(case.severity)}">{escape(case.severity)}</span> '
        f"{escape(case.status.value)}</h4>"
        f'<div class="qa-item">“{expandable_html(_summary(case, masked))}”</div>'
        f'<div class="qa-item"><b>Owner</b>: {escape(case.owner or "unassigned")} · '
        f"<b>owner confirmed to the customer</b> {_when(case.ownership_confirmed_at, zone)} · "
        f"<b>replied</b> {_when(case.replied_at, zone)} · <b>handling since</b> "
        f"{_when(case.handling_since, zone)} · <b>resolved</b> "
        f"{_when(case.resolved_at, zone)}</div>"
        f'<div class="qa-item"><b>Deadlines</b>{deadlines}</div>'
        f'<div class="qa-item"><b>History</b>{history}</div></div>'
    )


@dataclass(frozen=True)
class ComplaintsWidgets:
    """The Complaints tab's components."""

    status: gr.Dropdown  # the status filter
    refresh: gr.Button
    overdue: gr.Dataframe
    table: gr.Dataframe
    detail: gr.HTML
    open_id: gr.State  # the case this user has open (per browser session)
    manage: gr.Row
    owner: gr.Dropdown
    new_status: gr.Dropdown
    note: gr.Textbox
    actions: gr.Row
    save_owner: gr.Button
    save_status: gr.Button
    confirm_owner: gr.Button
    reply: gr.Button
    dnd_box: gr.Column
    dnd_refresh: gr.Button
    dnd_download: gr.DownloadButton
    dnd_table: gr.Dataframe
    opener: gr.Accordion
    call_id: gr.Textbox
    severity: gr.Dropdown
    summary: gr.Textbox
    open_button: gr.Button

    @property
    def view(self) -> list[Any]:
        """What :func:`show` fills."""
        return [self.detail, self.open_id, self.manage, self.actions, self.owner]


def layout() -> ComplaintsWidgets:
    """Lay out the Complaints tab inside the current Blocks context."""
    open_id = gr.State(None)
    with gr.Row():
        status = gr.Dropdown(
            label="Status", choices=[_ALL, *(s.value for s in CaseStatus)], value=_ALL, scale=2
        )
        refresh = gr.Button("Refresh", size="sm", scale=1)
    overdue = gr.Dataframe(
        value=overdue_frame([], datetime.now(UTC)), headers=OVERDUE_HEADERS, interactive=False,
        elem_id="qa-overdue", label="Overdue: past an escalation deadline, most escalated first",
    )  # fmt: skip
    table = gr.Dataframe(
        value=cases_frame([], datetime.now(UTC), True), headers=CASE_HEADERS, interactive=False,
        wrap=True, max_height=360, max_chars=80, elem_id="qa-cases",
        label="Complaint cases (newest first): select one to work on it",
    )  # fmt: skip
    detail = gr.HTML(_PROMPT, elem_id="qa-case", css_template=CSS)
    with gr.Row(visible=False) as manage:
        owner = gr.Dropdown(label="Owner", choices=[], scale=2, elem_id="qa-case-owner")
        new_status = gr.Dropdown(
            label="New status", choices=[s.value for s in CaseStatus], scale=2,
            elem_id="qa-case-status",
        )  # fmt: skip
    # The note and the buttons: for those who manage complaints and for the case's owner (who
    # may only record the ownership confirmation and the reply); the owner and status fields
    # above only for the former.
    with gr.Row(visible=False) as actions:
        note = gr.Textbox(label="Note (required to resolve or close)", scale=4)
        save_owner = gr.Button("Set owner", size="sm", visible=False)
        save_status = gr.Button("Set status", size="sm", visible=False)
        confirm_owner = gr.Button("Customer told who owns the case", size="sm")
        reply = gr.Button("Record reply to the customer", size="sm")
    with gr.Column(visible=False) as dnd_box:
        gr.Markdown("### Do-not-disturb list")
        with gr.Row():
            dnd_refresh = gr.Button("Refresh the list", size="sm")
            dnd_download = gr.DownloadButton("Download CSV", size="sm", elem_id="qa-dnd-download")
        dnd_table = gr.Dataframe(
            value=pd.DataFrame([], columns=list(DND_HEADERS)), interactive=False, wrap=True,
            max_chars=80,
            elem_id="qa-dnd", label="Customers who asked not to be called, with the kind refused",
        )  # fmt: skip
    with gr.Accordion("Open a case on a call", open=False, visible=False) as opener:
        with gr.Row():
            call_id = gr.Textbox(label="Call ID", scale=2)
            severity = gr.Dropdown(label="Severity", choices=list(SEVERITIES), value="medium")
            summary = gr.Textbox(label="What the customer complained about", scale=4)
        open_button = gr.Button("Open case", size="sm")
    return ComplaintsWidgets(
        status, refresh, overdue, table, detail, open_id, manage, owner, new_status, note,
        actions, save_owner, save_status, confirm_owner, reply, dnd_box, dnd_refresh,
        dnd_download, dnd_table, opener, call_id, severity, summary, open_button,
    )  # fmt: skip


def tables(ctx: AppContext, user: User, status_value: str) -> list[Any]:
    """The overdue list and the cases with ``status_value`` (``all``), after opening cases for
    new complaint flags; the customer's words masked unless the role may see personal data."""
    permitted(user, Action.VIEW_CALLS)
    now = datetime.now(UTC)
    masked = not can(user.role, Action.SEE_PERSONAL_DATA)
    with ctx.db() as db:
        sync_complaint_cases(db)
        chosen = None if status_value == _ALL else status_value
        cases = list_cases(db, status=chosen)
        late = overdue_cases(db, now)
    return [overdue_frame(late, now, ctx.zone), cases_frame(cases, now, masked, ctx.zone)]


@keeps_page(5)
def show(ctx: AppContext, user: User, case_id: int | None) -> list[Any]:
    """The case ``case_id`` (None: the prompt), with the tools ``user`` may use on it: owner and
    status for those who manage complaints, the ownership confirmation and the reply for them and
    the case's owner."""
    if case_id is None:
        return [_PROMPT, None, gr.Row(visible=False), gr.Row(visible=False), gr.skip()]
    permitted(user, Action.VIEW_CALLS)
    masked = not can(user.role, Action.SEE_PERSONAL_DATA)
    with ctx.db() as db:
        case = get_case(db, case_id)
        events = case_events(db, case_id)
        users = [u.username for u in list_users(db)]
    manages = can(user.role, Action.MANAGE_COMPLAINTS)
    may_reply = manages or user.username == case.owner
    return [
        case_html(case, events, datetime.now(UTC), masked, ctx.zone),
        case_id,
        gr.Row(visible=manages),
        gr.Row(visible=may_reply),
        gr.Dropdown(choices=["", *users], value=case.owner, interactive=manages),
    ]


@keeps_page(2)
def dnd_list(ctx: AppContext, user: User) -> list[Any]:
    """The do-not-disturb list and its CSV (supervisors, auditors, admins); customer numbers
    masked unless the role may see personal data, in the download too."""
    permitted(user, Action.EXPORT_DATA)
    masked = not can(user.role, Action.SEE_PERSONAL_DATA)
    with ctx.db() as db:
        table_out = export_table(db, ExportKind.DND, masked=masked, tz=ctx.zone)
    frame = pd.DataFrame(
        [[r[column] for column in DND_HEADERS.values()] for r in table_out.records],
        columns=list(DND_HEADERS),
    )
    path = write_export(ctx, table_out, user.username)
    return [frame, gr.DownloadButton(value=str(path))]


def load(ctx: AppContext, user: User) -> list[Any]:
    """The tab for ``user``: both tables, and the tools their role may use (the case opener,
    the owner and status buttons, the do-not-disturb list). Nothing for a role that may not see
    calls (agents)."""
    if not can(user.role, Action.VIEW_CALLS):
        return [gr.skip()] * 8
    buttons = can(user.role, Action.MANAGE_COMPLAINTS)
    exports = can(user.role, Action.EXPORT_DATA)
    return [*tables(ctx, user, _ALL), gr.Accordion(visible=can(user.role, Action.OPEN_COMPLAINTS)),
            gr.Button(visible=buttons), gr.Button(visible=buttons),
            gr.Column(visible=exports),
            *(dnd_list(ctx, user) if exports else [gr.skip(), gr.skip()])]  # fmt: skip


@keeps_page(7)
def reload(ctx: AppContext, user: User, status_value: str, case_id: int | None) -> list[Any]:
    """Both tables and the open case again."""
    return [*tables(ctx, user, status_value), *show(ctx, user, case_id)]


def _act(change: Callable[..., ComplaintCase], *args: Any, **kwargs: Any) -> ComplaintCase:
    """Run a change on a case; library refusals become one line for the user."""
    try:
        return change(*args, **kwargs)
    except (CaseError, PermissionDeniedError) as exc:
        raise gr.Error(str(exc)) from None


@keeps_page(7)
def set_case_owner(
    ctx: AppContext, user: User, case_id: int, value: str | None, status_value: str
) -> list[Any]:
    """Give the case to ``value`` (blank: nobody); qa.records.complaints checks who may."""
    with ctx.db() as db:
        _act(set_owner, db, case_id, value or "", by=user)
    return reload(ctx, user, status_value, case_id)


@keeps_page(8)
def set_case_status(
    ctx: AppContext, user: User, case_id: int | None, value: str | None, text: str,
    status_value: str,
) -> list[Any]:  # fmt: skip
    """Move the case to the status ``value`` with the note ``text`` (which is then cleared)."""
    if case_id is None:
        raise gr.Error("Select a case first.")
    if not value:
        raise gr.Error("Choose the new status first.")
    with ctx.db() as db:
        _act(set_status, db, case_id, value, by=user, note=text or "")
    return [*reload(ctx, user, status_value, case_id), ""]


@keeps_page(8)
def record_case_reply(
    ctx: AppContext, user: User, case_id: int, text: str, status_value: str
) -> list[Any]:
    """Record the reply to the customer, with the note ``text`` (which is then cleared)."""
    return _milestone(record_reply, ctx, user, case_id, text, status_value)


@keeps_page(8)
def confirm_case_owner(
    ctx: AppContext, user: User, case_id: int, text: str, status_value: str
) -> list[Any]:
    """Record that the customer was told who owns the case (due within four hours), with the
    note ``text`` (which is then cleared)."""
    return _milestone(confirm_ownership, ctx, user, case_id, text, status_value)


def _milestone(
    change: Callable[..., ComplaintCase], ctx: AppContext, user: User, case_id: int | None,
    text: str, status_value: str,
) -> list[Any]:  # fmt: skip
    if case_id is None:
        raise gr.Error("Select a case first.")
    with ctx.db() as db:
        _act(change, db, case_id, by=user, note=text or "")
    return [*reload(ctx, user, status_value, case_id), ""]


@keeps_page(9)
def open_new_case(
    ctx: AppContext, user: User, call: str, level: str, text: str, status_value: str
) -> list[Any]:
    """Open a case on the call ``call`` and show it; the call and summary fields are cleared."""
    with ctx.db() as db:
        case = _act(open_case, db, (call or "").strip(), by=user, summary=text or "",
                    severity=level)  # fmt: skip
    logger.info("%s opened complaint case %d", user.username, case.case_id)
    return [*reload(ctx, user, status_value, case.case_id), "", ""]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Complaints tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_dnd(request: gr.Request) -> list[Any]:
        return dnd_list(ctx, ctx.viewer(request))

    def on_reload(status_value: str, case_id: int | None, request: gr.Request) -> list[Any]:
        return reload(ctx, ctx.viewer(request), status_value, case_id)

    def on_select(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        user = ctx.viewer(request)
        row = evt.row_value or []
        return show(ctx, user, int(row[0]) if row else None)

    def on_owner(case_id: int, value: str | None, status_value: str,
                 request: gr.Request) -> list[Any]:  # fmt: skip
        return set_case_owner(ctx, ctx.viewer(request), case_id, value, status_value)

    def on_status(case_id: int | None, value: str | None, text: str, status_value: str,
                  request: gr.Request) -> list[Any]:  # fmt: skip
        return set_case_status(ctx, ctx.viewer(request), case_id, value, text, status_value)

    def on_reply(case_id: int, text: str, status_value: str, request: gr.Request) -> list[Any]:
        return record_case_reply(ctx, ctx.viewer(request), case_id, text, status_value)

    def on_confirm_owner(case_id: int, text: str, status_value: str,
                         request: gr.Request) -> list[Any]:  # fmt: skip
        return confirm_case_owner(ctx, ctx.viewer(request), case_id, text, status_value)

    def on_open(call: str, level: str, text: str, status_value: str,
                request: gr.Request) -> list[Any]:  # fmt: skip
        return open_new_case(ctx, ctx.viewer(request), call, level, text, status_value)

    tables_and_view = [w.overdue, w.table, *w.view]
    startup = [w.overdue, w.table, w.opener, w.save_owner, w.save_status, w.dnd_box, w.dnd_table,
               w.dnd_download]  # fmt: skip
    app.load(on_load, inputs=None, outputs=startup)
    w.dnd_refresh.click(on_dnd, inputs=None, outputs=[w.dnd_table, w.dnd_download])
    gr.on([w.refresh.click, w.status.input], on_reload, inputs=[w.status, w.open_id],
          outputs=tables_and_view)  # fmt: skip
    w.overdue.select(on_select, inputs=None, outputs=w.view)
    w.table.select(on_select, inputs=None, outputs=w.view)
    w.save_owner.click(on_owner, inputs=[w.open_id, w.owner, w.status], outputs=tables_and_view)
    w.save_status.click(on_status, inputs=[w.open_id, w.new_status, w.note, w.status],
                        outputs=[*tables_and_view, w.note])  # fmt: skip
    w.reply.click(on_reply, inputs=[w.open_id, w.note, w.status],
                  outputs=[*tables_and_view, w.note])  # fmt: skip
    w.confirm_owner.click(on_confirm_owner, inputs=[w.open_id, w.note, w.status],
                          outputs=[*tables_and_view, w.note])  # fmt: skip
    w.open_button.click(on_open, inputs=[w.call_id, w.severity, w.summary, w.status],
                        outputs=[*tables_and_view, w.call_id, w.summary])  # fmt: skip
