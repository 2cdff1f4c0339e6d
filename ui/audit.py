"""The Audit tab: was identity verified before each transaction? With the evidence, downloadable.

For supervisors, auditors and admins (``audit_identity``); other roles get a note. Auditors and
admins see personal numbers in quotes; supervisors see them masked, in the download too.
Selecting a row shows the call's evidence in full: every transaction statement and verification
step with its time and the speaker's words, and the reviewer's decision.

:func:`layout` places the components; the handlers (``load``, ``run_audit``, ``show_evidence``)
are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs audit`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, tzinfo
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from calldata import Evidence
from qa.access.permissions import Action, can
from qa.access.roles import User
from qa.records.export import identity_table
from qa.records.identity_audit import IdentityCheck, identity_audit
from ui.context import AppContext, keeps_page, permitted
from ui.render import CSS, clock, expandable_html, local_time
from ui.widgets import parse_day, selected_cell, write_export

logger = logging.getLogger(__name__)

HEADERS = ["Time", "Call", "Agent", "Finding", "Transaction", "Verification", "Machine",
           "Reviewer"]  # fmt: skip
_CALL_COLUMN = HEADERS.index("Call")
_DENIED = "The identity audit is for auditors, supervisors and admins; ask an admin for access."
_PROMPT = '<p class="qa-empty">Select a call in the table to see its evidence in full.</p>'


def _first(evidence: tuple[Evidence, ...]) -> str:
    if not evidence:
        return "-"
    e = evidence[0]
    more = f" (+{len(evidence) - 1})" if len(evidence) > 1 else ""
    return f"{clock(e.start)} {e.speaker.value}: “{e.text.strip()}”{more}"


def _decision(check: IdentityCheck) -> str:
    d = check.decision
    return f"{d.decision.value} by {d.reviewer}" if d else "not reviewed"


def audit_frame(checks: list[IdentityCheck], zone: tzinfo = UTC) -> pd.DataFrame:
    """One row per call with a transaction, oldest first; times in the site's ``zone``."""
    rows = [
        [local_time(c.start, zone), c.call_id, c.agent_name or c.agent or "?",
         ("OK: " if c.verified_before else "NO: ") + c.finding, _first(c.transaction),
         _first(c.verification), c.machine_result.value, _decision(c)]
        for c in checks
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def _quotes_html(title: str, evidence: tuple[Evidence, ...]) -> str:
    if not evidence:
        return f'<div class="qa-item"><b>{title}</b>: none found</div>'
    lines = "".join(
        f'<div class="qa-evidence"><span class="qa-time">{clock(e.start)}–{clock(e.end)}</span> '
        f"<b>{escape(e.speaker.value)}</b>: “{escape(e.text.strip())}”"
        + (f' <span class="qa-reason">(matched “{escape(e.matched)}”)</span>' if e.matched else "")
        + "</div>"
        for e in evidence
    )
    return f'<div class="qa-item"><b>{title}</b>{lines}</div>'


def evidence_html(check: IdentityCheck, zone: tzinfo = UTC) -> str:
    """The call's audit finding with every quote and time, and the reviewer's decision."""
    verdict = "pass" if check.verified_before else "fail"
    d = check.decision
    review = (
        f"{escape(d.decision.value)} by {escape(d.reviewer)} "
        f"({local_time(d.decided_at, zone)})"
        + (f": “{expandable_html(d.comment)}”" if d.comment else "")
        if d
        else "not reviewed yet"
    )
    return (
        f'<div class="qa-card" data-call="{escape(check.call_id)}">'
        f"<h4>Call {escape(check.call_id)} · {escape(check.agent_name or check.agent or '?')} · "
        f'<span class="qa-verdict qa-{verdict}">{escape(check.finding)}</span></h4>'
        + _quotes_html("Transaction", check.transaction)
        + _quotes_html("Verification", check.verification)
        + f'<div class="qa-item"><b>Machine</b>: {escape(check.machine_result.value)} — '
        f'<span class="qa-reason">{escape(check.reason)}</span></div>'
        f'<div class="qa-item"><b>Reviewer</b>: {review}</div>'
        + ("" if check.masked else '<p class="qa-empty">unmasked</p>')
        + "</div>"
    )


@dataclass(frozen=True)
class AuditWidgets:
    """The Audit tab's components: the refusal note, or the body with the audit."""

    denied: gr.Markdown
    body: gr.Column
    since: gr.Textbox
    until: gr.Textbox
    failed: gr.Checkbox
    refresh: gr.Button
    download: gr.DownloadButton
    summary: gr.Markdown
    table: gr.Dataframe
    checks: gr.State  # this user's audit rows (per browser session)
    evidence: gr.HTML


def layout() -> AuditWidgets:
    """Lay out the Audit tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.Markdown(visible=False, elem_id="qa-audit-denied")
    checks_state = gr.State([])
    with gr.Column(visible=False, elem_id="qa-audit") as body:
        with gr.Row():
            since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="first day", scale=2)
            until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="last day", scale=2)
            failed = gr.Checkbox(label="Not verified before only", scale=1)
            refresh = gr.Button("Refresh", size="sm", scale=1)
            download = gr.DownloadButton(
                "Download CSV", size="sm", scale=1, elem_id="qa-audit-download"
            )
        summary = gr.Markdown(elem_id="qa-audit-summary")
        table = gr.Dataframe(
            value=audit_frame([]), headers=HEADERS, interactive=False, wrap=True,
            elem_id="qa-audit-table", max_height=420, max_chars=90,
            column_widths=["10%", "12%", "8%", "14%", "20%", "20%", "8%", "8%"],
            label="Calls with a transaction: verified before it? Select one for its evidence",
        )  # fmt: skip
        evidence = gr.HTML(_PROMPT, elem_id="qa-audit-evidence", css_template=CSS)
    return AuditWidgets(denied, body, since, until, failed, refresh, download, summary, table,
                        checks_state, evidence)  # fmt: skip


@keeps_page(5)
def run_audit(ctx: AppContext, user: User, first: str, last: str, failed_only: bool) -> list[Any]:
    """The audit over the range (only the calls not verified before, when asked): a summary
    line, the table, the rows for the evidence, the prompt, and the CSV to download. Personal
    numbers masked unless the role may see them, in the download too."""
    permitted(user, Action.AUDIT_IDENTITY)
    since, until = parse_day(first, "Since"), parse_day(last, "Until")
    masked = not can(user.role, Action.SEE_PERSONAL_DATA)
    with ctx.db() as db:
        checks = identity_audit(
            db, since=since, until=until, masked=masked, tz=ctx.zone, rubrics_dir=ctx.rubrics_dir
        )
    if failed_only:
        checks = [c for c in checks if not c.verified_before]
    missed = sum(not c.verified_before for c in checks)
    logger.info("%s ran the identity audit (%d calls, masked=%s)", user.username,
                len(checks), masked)  # fmt: skip
    note = f"**{len(checks)}** call(s) with a transaction; **{missed}** not verified before it." + (
        "" if masked else " Personal numbers are shown unmasked."
    )
    path = write_export(ctx, identity_table(checks, since=since, until=until), user.username)
    if not checks:
        note = (
            "No call with a transaction in this range: widen **Since**/**Until** (blank for all "
            "time), or untick **Not verified before only**."
        )
    return [note, audit_frame(checks, ctx.zone), checks, _PROMPT,
            gr.DownloadButton(value=str(path))]  # fmt: skip


@keeps_page(None)
def show_evidence(
    ctx: AppContext, user: User, checks: list[IdentityCheck], call_id: str | None
) -> str:
    """The evidence of the call ``call_id`` among the audit rows, or the prompt."""
    permitted(user, Action.AUDIT_IDENTITY)
    found = next((c for c in checks if c.call_id == (call_id or "")), None)
    return evidence_html(found, ctx.zone) if found else _PROMPT


def load(ctx: AppContext, user: User) -> list[Any]:
    """The tab for ``user``: a note for roles that may not audit, else the audit of all time."""
    if not can(user.role, Action.AUDIT_IDENTITY):
        return [gr.Markdown(_DENIED, visible=True), gr.Column(visible=False),
                *[gr.skip()] * 5]  # fmt: skip
    return [gr.Markdown(visible=False), gr.Column(visible=True),
            *run_audit(ctx, user, "", "", False)]  # fmt: skip


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Audit tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_run(first: str, last: str, failed_only: bool, request: gr.Request) -> list[Any]:
        return run_audit(ctx, ctx.viewer(request), first, last, failed_only)

    def on_select(checks: list[IdentityCheck], evt: gr.SelectData, request: gr.Request) -> str:
        return show_evidence(ctx, ctx.viewer(request), checks, selected_cell(evt, _CALL_COLUMN))

    view = [w.summary, w.table, w.checks, w.evidence, w.download]
    app.load(on_load, inputs=None, outputs=[w.denied, w.body, *view])
    gr.on(
        [w.refresh.click, w.failed.input, w.since.submit, w.until.submit],
        on_run,
        inputs=[w.since, w.until, w.failed],
        outputs=view,
    )
    w.table.select(on_select, inputs=w.checks, outputs=w.evidence)
