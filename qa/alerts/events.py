"""What alerts react to, read from the store: a call's failed critical items and flags, complaint
case deadlines, appeals waiting for a decision, and the nightly run's outcome.

Each :class:`AlertEvent` has a ``key`` that names the happening itself (``call:ID:flag:complaint``,
``case:7:overdue:3d``, ``run:12``), so the same happening found again (a re-run, the next tick)
is recognised as already alerted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from calldata import Role
from qa.alert_config import AlertSettings, EventKind
from qa.records.complaints import CaseStatus, is_complaint_flag, list_cases
from qa.results.sentiment import load_sentiment
from qa.results.store import CallScore, call_scores, load_call, load_transcript
from qa.review.appeals import AppealStatus, list_appeals

DND_FLAG = "do_not_disturb"


@dataclass(frozen=True)
class AlertEvent:
    """One thing that happened, with what rules filter on and messages carry.

    ``quotes`` (transcript text) and ``caller`` (a personal number) reach a message only when the
    site turns ``include_text`` / ``include_personal`` on."""

    kind: EventKind
    key: str
    at: datetime
    title: str
    severity: str = "medium"
    call_id: str | None = None
    case_id: int | None = None
    run_id: int | None = None
    agent: str | None = None
    agent_name: str | None = None
    queue: str | None = None
    rubric: str | None = None
    item: str | None = None
    flag: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    quotes: tuple[str, ...] = ()
    caller: str | None = None


def _call_event(
    score: CallScore, kind: EventKind, key: str, title: str, **fields: object
) -> AlertEvent:
    header = score.header
    return AlertEvent(
        kind=kind,
        key=f"call:{header.call_id}:{key}",
        at=header.start,
        title=title,
        call_id=header.call_id,
        agent=header.agent,
        agent_name=header.agent_name,
        queue=header.queue,
        rubric=score.rubric,
        **fields,  # type: ignore[arg-type]  # the remaining AlertEvent fields, by name
    )


def _regulator_quotes(db: sqlite_utils.Database, call_id: str, terms: Sequence[str]) -> list[str]:
    """The customer's turns that name a regulator or the media."""
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None or not terms:
        return []
    wanted = [term.casefold().replace(" ", "") for term in terms]  # ASR spaces vary in zh
    return [
        turn.text
        for turn in transcript.turns
        if turn.role == Role.CUSTOMER
        and any(term in turn.text.casefold().replace(" ", "") for term in wanted)
    ]


def _mood_events(
    db: sqlite_utils.Database, score: CallScore, threshold: float, caller: str | None
) -> list[AlertEvent]:
    """``sentiment_drop`` when the customer's start→end shift falls by ``threshold`` or more;
    ``raised_voice`` for each side that raised their voice."""
    found = load_sentiment(db, score.header.call_id)
    if found is None:
        return []
    events = []
    shift, worst = found.customer_shift, found.most_negative
    if shift is not None and shift <= -threshold:
        details = {
            "customer_start": f"{found.customer_start:+.2f}",
            "customer_end": f"{found.customer_end:+.2f}",
            "shift": f"{shift:+.2f}",
        }
        if worst is not None:
            details["most_negative_at"] = f"{worst.start:.1f}-{worst.end:.1f} s"
        events.append(
            _call_event(
                score, EventKind.SENTIMENT_DROP, "sentiment_drop",
                f"The customer's sentiment fell by {-shift:.2f}", severity="medium",
                details=details, quotes=(worst.text,) if worst else (), caller=caller,
            )
        )  # fmt: skip
    for role in dict.fromkeys(moment.role for moment in found.raised_voice):
        moments = found.raised(role)
        loudest = max(moments, key=lambda m: m.louder_db)
        events.append(
            _call_event(
                score, EventKind.RAISED_VOICE, f"raised_voice:{role}",
                f"The {role} raised their voice", severity="medium",
                details={"role": role, "moments": str(len(moments)),
                         "loudest_at": f"{loudest.start:.1f}-{loudest.end:.1f} s",
                         "louder_db": f"{loudest.louder_db:+.1f}"},
                caller=caller,
            )
        )  # fmt: skip
    return events


def call_events(
    db: sqlite_utils.Database, call_ids: Iterable[str], settings: AlertSettings
) -> list[AlertEvent]:
    """The events of these calls' latest scorecards: each failed critical item, each flag
    (hints, raised on a guess about misheard words, wait for a reviewer), a do-not-disturb
    request, a complaint that names a regulator, the customer's sentiment falling by
    ``sentiment_drop`` or more from start to end, and a side raising their voice."""
    events: list[AlertEvent] = []
    for call_id in dict.fromkeys(call_ids):
        scores = call_scores(db, call_id=call_id)
        if not scores:
            continue
        caller = load_call(db, call_id).caller
        complaint = None
        for score in scores:
            for item in score.items:
                if item.critical and item.result == "fail":
                    events.append(
                        _call_event(
                            score, EventKind.CRITICAL_FAILED, f"critical:{score.rubric}:{item.id}",
                            f"Critical item failed: {item.title}", severity="high", item=item.id,
                            details={"reason": item.reason}, caller=caller,
                            quotes=tuple(e.text for e in item.evidence),
                        )
                    )  # fmt: skip
            for flag in score.flags:
                if flag.hint:
                    continue
                quotes = tuple(e.text for e in flag.evidence)
                details = {"kind": flag.kind} if flag.kind else {}
                events.append(
                    _call_event(
                        score, EventKind.FLAG, f"flag:{flag.id}", f"Flag: {flag.title or flag.id}",
                        severity=flag.severity, flag=flag.id, details=details, quotes=quotes,
                        caller=caller,
                    )
                )  # fmt: skip
                if flag.id == DND_FLAG:
                    events.append(
                        _call_event(
                            score, EventKind.DO_NOT_DISTURB, "do_not_disturb",
                            "The customer asked not to be called again", severity=flag.severity,
                            flag=flag.id, details=details, quotes=quotes, caller=caller,
                        )
                    )  # fmt: skip
                if is_complaint_flag(flag.id) and complaint is None:
                    complaint = (score, flag.id)
        events += _mood_events(db, scores[0], settings.sentiment_drop, caller)
        if complaint is not None:
            threats = _regulator_quotes(db, call_id, settings.regulator_terms)
            if threats:
                score, flag_id = complaint
                events.append(
                    _call_event(
                        score, EventKind.REGULATOR_THREAT, "regulator_threat",
                        "The customer threatens to go to a regulator or the media",
                        severity="critical", flag=flag_id, quotes=tuple(threats), caller=caller,
                    )
                )  # fmt: skip
    return events


def case_events(
    db: sqlite_utils.Database, settings: AlertSettings, now: datetime | None = None
) -> list[AlertEvent]:
    """Active complaint cases at an escalation step: ``case_overdue`` for each missed deadline,
    ``case_due`` for one due within ``due_within_hours``."""
    now = now or datetime.now(UTC)
    soon = timedelta(hours=settings.due_within_hours)
    events = []
    cases = list_cases(db, status=(CaseStatus.OPEN, CaseStatus.IN_PROGRESS))
    queues = dict(
        db.execute(
            "select c.call_id, c.queue from calls c join complaint_cases k on k.call_id = c.call_id"
        ).fetchall()
    )
    for case in cases:
        for deadline in case.deadlines(now):
            rule = deadline.escalation
            if deadline.state == "missed":
                kind, word, title = EventKind.CASE_OVERDUE, "overdue", "Complaint case overdue"
            elif deadline.state == "pending" and deadline.due - now <= soon:
                kind, word, title = EventKind.CASE_DUE, "due", "Complaint case due soon"
            else:
                continue
            events.append(
                AlertEvent(
                    kind=kind,
                    key=f"case:{case.case_id}:{word}:{rule.key}",
                    at=deadline.due,
                    title=f"{title}: {rule.description}",
                    severity="critical" if kind is EventKind.CASE_OVERDUE else "high",
                    call_id=case.call_id,
                    case_id=case.case_id,
                    agent=case.agent,
                    agent_name=case.agent_name,
                    queue=queues.get(case.call_id),
                    flag=case.flag_id or None,
                    details={
                        "escalate_to": rule.escalate_to,
                        "due": deadline.due.isoformat(timespec="seconds"),
                        "milestone": rule.milestone.value,
                        "owner": case.owner or "(unassigned)",
                        "case_status": case.status.value,
                    },
                )
            )
    return events


def appeal_events(
    db: sqlite_utils.Database, settings: AlertSettings, now: datetime | None = None
) -> list[AlertEvent]:
    """``appeal_waiting`` for each open appeal older than ``appeal_waiting_hours``: once per
    appeal (the agent's comment is their words about the call: a quote, never sent unless the
    site turns ``include_text`` on)."""
    now = now or datetime.now(UTC)
    wait = timedelta(hours=settings.appeal_waiting_hours)
    events = []
    for appeal in list_appeals(db, status=AppealStatus.OPEN):
        if now - appeal.opened_at < wait:
            continue
        call = load_call(db, appeal.call_id)
        events.append(
            AlertEvent(
                kind=EventKind.APPEAL_WAITING,
                key=f"appeal:{appeal.appeal_id}:waiting",
                at=appeal.opened_at + wait,
                title=f"Appeal waiting for a decision: {appeal.target}",
                severity="medium",
                call_id=appeal.call_id,
                agent=appeal.agent,
                agent_name=call.agent_name,
                queue=call.queue,
                rubric=appeal.rubric_id,
                item=appeal.item_id,
                details={
                    "appeal_id": str(appeal.appeal_id),
                    "opened_by": appeal.opened_by,
                    "opened_at": appeal.opened_at.isoformat(timespec="seconds"),
                    "round": str(appeal.round),
                    "verdict_sought": appeal.verdict_sought.value,
                },
                quotes=(appeal.comment,),
            )
        )
    return events


def run_events(db: sqlite_utils.Database, run_id: int) -> list[AlertEvent]:
    """The nightly run's outcome: ``run_failed`` when it crashed, ``run_with_failures`` when it
    finished with calls failed; nothing when all went well or it is still running."""
    row = db.execute(
        "select status, finished_at, started_at, done, failed from runs where run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        return []
    status, finished, started, done, failed = row
    at = datetime.fromisoformat(finished or started)
    details = {"status": status, "done": str(done or 0), "failed": str(failed or 0)}
    if status == "crashed":
        kind, title = EventKind.RUN_FAILED, f"Nightly run {run_id} crashed"
    elif status == "finished" and failed:
        kind, title = EventKind.RUN_WITH_FAILURES, f"Nightly run {run_id}: {failed} call(s) failed"
    else:
        return []
    return [
        AlertEvent(kind, f"run:{run_id}", at, title, severity="high", run_id=run_id,
                   details=details)
    ]  # fmt: skip


def run_not_started_event(reason: str, now: datetime | None = None) -> AlertEvent:
    """``run_failed`` for a run that could not start (bad config, missing model, store gone): one
    alert per day and reason."""
    now = now or datetime.now(UTC)
    digest = hashlib.sha256(reason.encode()).hexdigest()[:12]
    return AlertEvent(
        EventKind.RUN_FAILED,
        f"run-not-started:{now.date().isoformat()}:{digest}",
        now,
        "The nightly run could not start",
        severity="high",
        details={"reason": reason},
    )


def sample_event(kind: EventKind, now: datetime | None = None) -> AlertEvent:
    """A made-up event of this kind for ``qa alerts test`` (marked as a test everywhere)."""
    now = now or datetime.now(UTC)
    return AlertEvent(
        kind,
        f"test:{now.isoformat(timespec='microseconds')}",
        now,
        f"TEST alert ({kind.value}): if you read this, the channel works",
        severity="high",
        call_id="test-call",
        agent="test-agent",
        agent_name="Test Agent",
        queue="test",
        details={"test": "true"},
    )


def calls_of_run(db: sqlite_utils.Database, run_id: int) -> list[str]:
    """The calls a run finished (done now or re-scored)."""
    rows = db.execute(
        "select call_id from run_calls where run_id = ? and status = 'done'", [run_id]
    ).fetchall()
    return [row[0] for row in rows]
