"""Exports for supervisors and auditors: flat tables written as CSV or JSON.

Each export is one :class:`ExportTable`: named columns and one flat record per row (text,
numbers, booleans or empty), so the CSV and the JSON of an export hold the same values::

    table = export_table(db, ExportKind.SCORECARDS, since=date(2026, 11, 1))
    table.write_csv(sys.stdout)     # a header row, then one line per record
    table.write_json(sys.stdout)    # {"export": ..., "masked": true, "records": [...], ...}

- ``scorecards``: one row per call, rubric and item: the verdict that counts (the reviewer's
  where there is one) beside the machine's, the reason and the evidence quoted with times.
- ``reviews``: one row per item decision of each call's latest submitted review, with the
  reviewer's comment on the item and on the call.
- ``complaints``: complaint cases with owner, status, milestones and escalation.
- ``dnd``: the do-not-disturb list (customer number and the kind of call refused).
- ``identity``: the identity-verification audit (:mod:`qa.records.identity_audit`).
- ``agreement``: per rubric item and version, reviewers against the machine
  (:mod:`qa.review.agreement`): decisions, fail and pass precision, and the calls behind.
- ``flag_agreement``: per flag and rubric version, reviewers against the machine's flags: raised,
  confirmed, rejected, added (missed by the machine), precision and recall, the calls behind.

``--since``/``--until`` select calls by their local day (complaints: the day of the complaint).
Personal data (ID-card, bank-card and phone numbers) in transcript text, comments and customer
numbers is masked unless ``masked=False``, which is for auditors.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import IO

import sqlite_utils

from calldata import Evidence
from qa.access.masking import mask_personal_data
from qa.records.agents import scored_calls
from qa.records.complaints import list_cases
from qa.records.do_not_disturb import do_not_disturb_list
from qa.records.identity_audit import IdentityCheck, identity_audit
from qa.review.agreement import FLAG_CALL_KINDS, flag_agreement, rule_agreement
from qa.review.state import get_review

__all__ = ["ExportKind", "ExportTable", "export_table", "identity_table"]

Value = str | int | float | bool | None
# A spreadsheet would run a cell starting with these as a formula.
_FORMULA_START = ("=", "+", "@", "\t", "\r")


class ExportKind(StrEnum):
    SCORECARDS = "scorecards"
    REVIEWS = "reviews"
    COMPLAINTS = "complaints"
    DND = "dnd"
    IDENTITY = "identity"
    AGREEMENT = "agreement"
    FLAG_AGREEMENT = "flag_agreement"


@dataclass(frozen=True)
class ExportTable:
    """One export: its columns, its flat records (a dict per row, keys = ``columns``), and
    how it was made."""

    kind: ExportKind
    columns: tuple[str, ...]
    records: tuple[dict[str, Value], ...]
    masked: bool
    since: date | None = None
    until: date | None = None

    def write_csv(self, stream: IO[str]) -> None:
        """A header row, then one line per record. Cells that a spreadsheet would read as a
        formula get a leading apostrophe."""
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(self.columns)
        for record in self.records:
            writer.writerow([_csv_cell(record[column]) for column in self.columns])

    def write_json(self, stream: IO[str]) -> None:
        """One JSON document: what was exported, whether masked, the columns and the records."""
        document = {
            "export": self.kind.value,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "masked": self.masked,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "columns": list(self.columns),
            "records": list(self.records),
        }
        json.dump(document, stream, ensure_ascii=False, indent=1)
        stream.write("\n")


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _time(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds") if when else None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _quotes(evidence: tuple[Evidence, ...]) -> str:
    """Evidence as one text cell: ``0:10 agent: “…” | 0:15 customer: “…”``."""
    return " | ".join(f"{_clock(e.start)} {e.speaker.value}: “{e.text.strip()}”" for e in evidence)


def _scorecard_records(
    db: sqlite_utils.Database, since: date | None, until: date | None, masked: bool, tz: tzinfo
) -> list[dict[str, Value]]:
    mask = mask_personal_data if masked else str
    records: list[dict[str, Value]] = []
    for call in scored_calls(db, since=since, until=until, tz=tz):
        for card in call.cards:
            counted = {item.id: item for item in card.card.items}
            decisions = {d.item_id: d for d in card.decisions} if card.reviewed else {}
            flags = "; ".join(f"{f.id} ({f.severity}{', ' + f.kind if f.kind else ''})"
                              for f in card.card.flags)  # fmt: skip
            for item in card.machine.items:
                decision = decisions.get(item.id)
                records.append({
                    "call_id": call.call_id, "start": _time(call.start), "agent": call.agent,
                    "agent_name": call.agent_name, "queue": call.queue,
                    "language": call.language, "rubric": card.rubric_id,
                    "rubric_version": card.machine.rubric_version, "score": card.card.score,
                    "max_score": card.card.max_score, "passed": card.card.passed,
                    "machine_score": card.machine.score, "reviewed": card.reviewed,
                    "item": item.id, "title": item.title, "critical": item.critical,
                    "result": counted[item.id].result.value if item.id in counted else None,
                    "machine_result": item.result.value,
                    "decision": decision.decision.value if decision else None,
                    "reviewer": decision.reviewer if decision else None,
                    "comment": mask(decision.comment) if decision else None,
                    "reason": mask(item.reason), "evidence": mask(_quotes(item.evidence)),
                    "flags": flags,
                })  # fmt: skip
    return records


def _review_records(
    db: sqlite_utils.Database, since: date | None, until: date | None, masked: bool, tz: tzinfo
) -> list[dict[str, Value]]:
    mask = mask_personal_data if masked else str
    records: list[dict[str, Value]] = []
    for call in scored_calls(db, since=since, until=until, tz=tz):
        review = get_review(db, call.call_id) if call.reviewed else None
        for card in call.cards:
            if not card.reviewed:
                continue
            for d in card.decisions:
                records.append({
                    "call_id": call.call_id, "start": _time(call.start), "agent": call.agent,
                    "agent_name": call.agent_name, "rubric": d.rubric_id,
                    "rubric_version": d.rubric_version, "item": d.item_id,
                    "decision": d.decision.value, "machine_verdict": d.machine_verdict.value,
                    "verdict": d.verdict.value, "changed": d.changed, "comment": mask(d.comment),
                    "reviewer": d.reviewer, "decided_at": _time(d.decided_at),
                    "review_status": card.review_status.value if card.review_status else None,
                    "review_comment": mask(review.comment) if review else None,
                })  # fmt: skip
    return records


def _complaint_records(
    db: sqlite_utils.Database, since: date | None, until: date | None, masked: bool, tz: tzinfo
) -> list[dict[str, Value]]:
    mask = mask_personal_data if masked else str
    now = datetime.now(UTC)
    records: list[dict[str, Value]] = []
    for case in reversed(list_cases(db, since=since, until=until, tz=tz)):
        escalation, upcoming = case.escalation(now), case.next_deadline(now)
        records.append({
            "case_id": case.case_id, "call_id": case.call_id, "agent": case.agent,
            "agent_name": case.agent_name, "source": case.source, "flag": case.flag_id,
            "severity": case.severity, "summary": mask(case.summary), "owner": case.owner,
            "status": case.status.value, "opened_at": _time(case.opened_at),
            "opened_by": case.opened_by, "recorded_at": _time(case.recorded_at),
            "ownership_confirmed_at": _time(case.ownership_confirmed_at),
            "replied_at": _time(case.replied_at),
            "handling_since": _time(case.handling_since),
            "resolved_at": _time(case.resolved_at), "closed_at": _time(case.closed_at),
            "escalated_to": escalation.escalate_to if escalation else None,
            "next_deadline": upcoming.escalation.description if upcoming else None,
            "next_deadline_at": _time(upcoming.due) if upcoming else None,
        })  # fmt: skip
    return records


def _dnd_records(
    db: sqlite_utils.Database, since: date | None, until: date | None, masked: bool, tz: tzinfo
) -> list[dict[str, Value]]:
    mask = mask_personal_data if masked else str
    records: list[dict[str, Value]] = []
    for r in do_not_disturb_list(db, since=since, until=until, tz=tz):
        records.append({
            "customer_number": mask(r.customer_number), "kind": r.kind, "call_id": r.call_id,
            "start": _time(r.start), "direction": r.direction, "queue": r.queue,
            "agent": r.agent, "agent_name": r.agent_name, "quote": mask(r.quote),
            "quote_at": _clock(r.quote_start) if r.quote_start is not None else None,
        })  # fmt: skip
    return records


def _identity_record(c: IdentityCheck) -> dict[str, Value]:
    d = c.decision
    return {
        "call_id": c.call_id, "start": _time(c.start), "agent": c.agent,
        "agent_name": c.agent_name, "queue": c.queue, "language": c.language,
        "rubric": c.rubric, "rubric_version": c.rubric_version,
        "verified_before": c.verified_before, "finding": c.finding,
        "result": c.result.value, "machine_result": c.machine_result.value,
        "decision": d.decision.value if d else None, "reviewer": d.reviewer if d else None,
        "decided_at": _time(d.decided_at) if d else None, "comment": d.comment if d else None,
        "transaction_at": c.transaction_at, "transaction": _quotes(c.transaction),
        "verified_at": c.verified_at, "verification": _quotes(c.verification),
        "reason": c.reason,
    }  # fmt: skip


def _identity_records(
    db: sqlite_utils.Database,
    since: date | None,
    until: date | None,
    masked: bool,
    tz: tzinfo,
    rubrics_dir: Path | None = None,
) -> list[dict[str, Value]]:
    checks = identity_audit(
        db, since=since, until=until, masked=masked, tz=tz, rubrics_dir=rubrics_dir
    )
    return [_identity_record(check) for check in checks]


def _agreement_records(
    db: sqlite_utils.Database,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
) -> list[dict[str, Value]]:
    records: list[dict[str, Value]] = []
    for rule in rule_agreement(db, agent=agent, since=since, until=until, tz=tz):
        record: dict[str, Value] = {
            "rubric_id": rule.rubric_id, "rubric_version": rule.rubric_version,
            "item_id": rule.item_id, "decisions": rule.decisions, "confirmed": rule.confirmed,
            "rejected": rule.rejected, "overridden": rule.overridden,
            "machine_fail": rule.machine_fail, "fail_kept": rule.fail_kept,
            "fail_precision": rule.fail_precision, "machine_pass": rule.machine_pass,
            "pass_kept": rule.pass_kept, "pass_precision": rule.pass_precision,
            "agreement": rule.agreement, "status": rule.status,
        }  # fmt: skip
        for kind in ("rejected", "overridden", "false_fail", "false_pass"):
            record[f"{kind}_calls"] = " ".join(rule.calls.get(kind, ()))
        records.append(record)
    return records


def _flag_agreement_records(
    db: sqlite_utils.Database,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
) -> list[dict[str, Value]]:
    records: list[dict[str, Value]] = []
    for flag in flag_agreement(db, agent=agent, since=since, until=until, tz=tz):
        record: dict[str, Value] = {
            "rubric_id": flag.rubric_id, "rubric_version": flag.rubric_version,
            "flag_id": flag.flag_id, "raised": flag.raised, "decided": flag.decided,
            "confirmed": flag.confirmed, "rejected": flag.rejected, "added": flag.added,
            "undecided": flag.undecided, "precision": flag.precision, "recall": flag.recall,
            "status": flag.status,
        }  # fmt: skip
        for kind in FLAG_CALL_KINDS:
            record[f"{kind}_calls"] = " ".join(flag.calls.get(kind, ()))
        records.append(record)
    return records


_Builder = Callable[..., list[dict[str, Value]]]
_BUILDERS: dict[ExportKind, tuple[_Builder, tuple[str, ...]]] = {
    ExportKind.SCORECARDS: (_scorecard_records, (
        "call_id", "start", "agent", "agent_name", "queue", "language", "rubric",
        "rubric_version", "score", "max_score", "passed", "machine_score", "reviewed", "item",
        "title", "critical", "result", "machine_result", "decision", "reviewer", "comment",
        "reason", "evidence", "flags")),
    ExportKind.REVIEWS: (_review_records, (
        "call_id", "start", "agent", "agent_name", "rubric", "rubric_version", "item",
        "decision", "machine_verdict", "verdict", "changed", "comment", "reviewer",
        "decided_at", "review_status", "review_comment")),
    ExportKind.COMPLAINTS: (_complaint_records, (
        "case_id", "call_id", "agent", "agent_name", "source", "flag", "severity", "summary",
        "owner", "status", "opened_at", "opened_by", "recorded_at", "ownership_confirmed_at",
        "replied_at", "handling_since",
        "resolved_at", "closed_at", "escalated_to", "next_deadline", "next_deadline_at")),
    ExportKind.DND: (_dnd_records, (
        "customer_number", "kind", "call_id", "start", "direction", "queue", "agent",
        "agent_name", "quote", "quote_at")),
    ExportKind.IDENTITY: (_identity_records, (
        "call_id", "start", "agent", "agent_name", "queue", "language", "rubric",
        "rubric_version", "verified_before", "finding", "result", "machine_result", "decision",
        "reviewer", "decided_at", "comment", "transaction_at", "transaction", "verified_at",
        "verification", "reason")),
    ExportKind.AGREEMENT: (_agreement_records, (
        "rubric_id", "rubric_version", "item_id", "decisions", "confirmed", "rejected",
        "overridden", "machine_fail", "fail_kept", "fail_precision", "machine_pass", "pass_kept",
        "pass_precision", "agreement", "status", "rejected_calls", "overridden_calls",
        "false_fail_calls", "false_pass_calls")),
    ExportKind.FLAG_AGREEMENT: (_flag_agreement_records, (
        "rubric_id", "rubric_version", "flag_id", "raised", "decided", "confirmed", "rejected",
        "added", "undecided", "precision", "recall", "status", "confirmed_calls",
        "rejected_calls", "added_calls", "undecided_calls")),
}  # fmt: skip


def export_table(
    db: sqlite_utils.Database,
    kind: ExportKind | str,
    *,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    masked: bool = True,
    tz: tzinfo = UTC,
    rubrics_dir: Path | None = None,
) -> ExportTable:
    """The export of ``kind`` for calls whose local day (in ``tz``) is within ``since`` ..
    ``until``, inclusive, and of ``agent`` (id or name) when given; personal data masked unless
    ``masked=False``. ``rubrics_dir`` (identity only): the rubrics that split the evidence."""
    kind = ExportKind(kind)
    build, columns = _BUILDERS[kind]
    if kind == ExportKind.IDENTITY:
        records = _identity_records(db, since, until, masked, tz, rubrics_dir)
    elif kind == ExportKind.AGREEMENT:  # per rule, not per call: the agent is chosen at the source
        records, agent = _agreement_records(db, since, until, tz, agent), None
    elif kind == ExportKind.FLAG_AGREEMENT:  # likewise per flag
        records, agent = _flag_agreement_records(db, since, until, tz, agent), None
    else:
        records = build(db, since, until, masked, tz)
    if agent is not None:
        records = [r for r in records if agent in (r["agent"], r["agent_name"])]
    return ExportTable(kind, columns, tuple(records), masked, since, until)


def identity_table(
    checks: Sequence[IdentityCheck], *, since: date | None = None, until: date | None = None
) -> ExportTable:
    """The identity export of audit rows already computed (the Audit tab's download); masked
    as the rows were."""
    masked = all(check.masked for check in checks)
    records = tuple(_identity_record(check) for check in checks)
    return ExportTable(ExportKind.IDENTITY, _BUILDERS[ExportKind.IDENTITY][1], records, masked,
                       since, until)  # fmt: skip
