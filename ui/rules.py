"""The Rules tab: how often reviewers agree with each rule of the machine, per rubric version.

For supervisors, auditors and admins (``view_rule_agreement``); other roles get a notice. The
table is qa.review.agreement's: per rubric item and version, the reviewers' decisions, the
precision of the machine's fails and passes, and the rule's status under the site's
``[agreement]`` settings (``attention``, ``trusted``). Selecting a rule lists the calls behind its
numbers, to open in the Calls tab. Flags likewise (qa.review.agreement.flag_agreement): raised on
reviewed calls, confirmed, rejected or added by reviewers (the machine missed it), precision,
recall and status; selecting a flag lists its calls.

:func:`layout` places the components; the handlers (``load``, ``rules_view``, ``calls_behind``)
are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs rules`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, can
from qa.access.roles import User
from qa.review.agreement import FlagAgreement, RuleAgreement, flag_agreement, rule_agreement
from ui.context import AppContext, permitted
from ui.render import CSS, denied_html
from ui.widgets import parse_day

logger = logging.getLogger(__name__)

HEADERS = ["Rule", "Version", "Decisions", "Confirmed", "Rejected", "Overridden",
           "Fail precision", "Pass precision", "Status"]  # fmt: skip
FLAG_HEADERS = ["Flag", "Version", "Raised on reviewed calls", "Confirmed", "Rejected",
                "Added (missed)", "Undecided", "Precision", "Recall", "Status"]  # fmt: skip
DENIED = "Rule agreement is for supervisors, auditors and admins."
_KINDS = {"rejected": "Rejected", "overridden": "Overridden",
          "false_fail": "Failed by the machine, passed by the reviewer",
          "false_pass": "Passed by the machine, not by the reviewer"}  # fmt: skip
_FLAG_KINDS = {"rejected": "Rejected (raised wrongly)", "added": "Added (the machine missed it)",
               "confirmed": "Confirmed", "undecided": "Raised, no decision"}  # fmt: skip


def _percent(value: float | None, of: int) -> str:
    return "-" if value is None else f"{value:.0%} of {of}"


def rules_frame(rules: list[RuleAgreement]) -> pd.DataFrame:
    rows = [
        [r.rule, r.rubric_version, r.decisions, r.confirmed, r.rejected, r.overridden,
         _percent(r.fail_precision, r.machine_fail), _percent(r.pass_precision, r.machine_pass),
         r.status or "-"]
        for r in rules
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def flags_frame(flags: list[FlagAgreement]) -> pd.DataFrame:
    rows = [
        [f"{f.rubric_id}/{f.flag_id}", f.rubric_version, f.raised, f.confirmed, f.rejected,
         f.added, f.undecided, _percent(f.precision, f.decided),
         _percent(f.recall, f.confirmed + f.added), f.status or "-"]
        for f in flags
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=FLAG_HEADERS)


@dataclass(frozen=True)
class RulesWidgets:
    """The Rules tab's components: the notice, or the filters, the tables and the calls."""

    denied: gr.HTML
    body: gr.Column
    since: gr.Textbox
    until: gr.Textbox
    refresh: gr.Button
    table: gr.Dataframe
    calls: gr.Markdown
    flags: gr.Dataframe


def layout() -> RulesWidgets:
    """Lay out the Rules tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-rules-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-rules") as body:
        with gr.Row():
            since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="first day", scale=1)
            until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="last day", scale=1)
            refresh = gr.Button("Refresh", size="sm", scale=0)
        table = gr.Dataframe(
            value=rules_frame([]), headers=HEADERS, interactive=False, elem_id="qa-rules-table",
            label="Reviewers against the machine, per rule (select one for the calls behind it)",
        )  # fmt: skip
        calls = gr.Markdown(elem_id="qa-rules-calls")
        flags = gr.Dataframe(value=flags_frame([]), headers=FLAG_HEADERS, interactive=False,
                             label="Reviewers against the machine, per flag (select one for "
                             "its calls)", elem_id="qa-rules-flags")  # fmt: skip
    return RulesWidgets(denied, body, since, until, refresh, table, calls, flags)


def _rules(
    ctx: AppContext, first: str, last: str
) -> tuple[list[RuleAgreement], list[FlagAgreement]]:
    since, until = parse_day(first, "Since"), parse_day(last, "Until")
    with ctx.db() as db:
        rules = rule_agreement(db, settings=ctx.agreement, since=since, until=until, tz=ctx.zone)
        flags = flag_agreement(db, settings=ctx.agreement, since=since, until=until, tz=ctx.zone)
    return rules, flags


def rules_view(ctx: AppContext, user: User, first: str, last: str) -> list[Any]:
    """The rules table and the flags over the range (blank: all time)."""
    permitted(user, Action.VIEW_RULE_AGREEMENT)
    rules, flags = _rules(ctx, first, last)
    return [rules_frame(rules), flags_frame(flags)]


def calls_behind(
    ctx: AppContext, user: User, rule: str | None, version: str | None, first: str, last: str
) -> str:
    """The calls behind one rule's numbers, by kind of disagreement."""
    permitted(user, Action.VIEW_RULE_AGREEMENT)
    if not rule:
        return ""
    rules, _ = _rules(ctx, first, last)
    found = next((r for r in rules if (r.rule, r.rubric_version) == (rule, version)), None)
    if found is None:
        return f"No decisions on {rule} v{version} in this range."
    lines = [f"**{rule} v{version}**: {found.confirmed} of {found.decisions} confirmed."]
    for kind, label in _KINDS.items():
        ids = found.calls.get(kind, ())
        if ids:
            lines.append(f"- {label} ({len(ids)}): " + ", ".join(f"`{i}`" for i in ids))
    return "\n".join(lines)


def calls_behind_flag(
    ctx: AppContext, user: User, flag: str | None, version: str | None, first: str, last: str
) -> str:
    """The calls behind one flag's numbers (``rubric/flag``), by reviewers' decision."""
    permitted(user, Action.VIEW_RULE_AGREEMENT)
    if not flag:
        return ""
    _, flags = _rules(ctx, first, last)
    key = (flag, version)
    found = next((f for f in flags if (f"{f.rubric_id}/{f.flag_id}", f.rubric_version) == key),
                 None)  # fmt: skip
    if found is None:
        return f"No reviewed call raised or added {flag} v{version} in this range."
    lines = [f"**{flag} v{version}** (flag): {found.confirmed} of {found.decided} raises "
             f"confirmed; {found.added} added where the machine missed it."]  # fmt: skip
    for kind, label in _FLAG_KINDS.items():
        ids = found.calls.get(kind, ())
        if ids:
            lines.append(f"- {label} ({len(ids)}): " + ", ".join(f"`{i}`" for i in ids))
    return "\n".join(lines)


def load(ctx: AppContext, user: User) -> list[Any]:
    """The notice for roles that may not see rule agreement, else the tables over all time."""
    if not can(user.role, Action.VIEW_RULE_AGREEMENT):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip(), gr.skip()]
    return ["", gr.Column(visible=True), *rules_view(ctx, user, "", "")]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Rules tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_refresh(first: str, last: str, request: gr.Request) -> list[Any]:
        return rules_view(ctx, ctx.viewer(request), first, last)

    def on_select(evt: gr.SelectData, first: str, last: str, request: gr.Request) -> str:
        row = evt.row_value or []
        rule, version = (str(row[0]), str(row[1])) if len(row) > 1 else (None, None)
        return calls_behind(ctx, ctx.viewer(request), rule, version, first, last)

    def on_select_flag(evt: gr.SelectData, first: str, last: str, request: gr.Request) -> str:
        row = evt.row_value or []
        flag, version = (str(row[0]), str(row[1])) if len(row) > 1 else (None, None)
        return calls_behind_flag(ctx, ctx.viewer(request), flag, version, first, last)

    app.load(on_load, inputs=None, outputs=[w.denied, w.body, w.table, w.flags])
    gr.on([w.refresh.click, w.since.submit, w.until.submit], on_refresh,
          inputs=[w.since, w.until], outputs=[w.table, w.flags])  # fmt: skip
    w.table.select(on_select, inputs=[w.since, w.until], outputs=w.calls)
    w.flags.select(on_select_flag, inputs=[w.since, w.until], outputs=w.calls)
