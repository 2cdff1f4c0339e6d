"""Complaints as cases: opened from a complaint flag or by a reviewer, owned, worked, escalated.

A case's clock starts when the customer complained (the call's start). The source documents set
the escalation deadlines for an open complaint (:data:`ESCALATIONS`)::

    no reply to the customer within  3 days  -> the direct manager
    not being handled within         7 days  -> the branch head
    not resolved within             15 days  -> the company president
    not resolved within             20 days  -> the chairman

"Days" are whole 24-hour periods from the complaint (a call at 14:30 on the 20th is overdue for a
reply from 14:30 on the 23rd). Milestones: *reply* is recorded with :func:`record_reply` (the
customer was told who owns the case); *handling* starts when the case moves to ``in_progress``;
*resolution* when it is ``resolved`` or ``closed`` (resolving implies the earlier milestones).

Usage::

    sync_complaint_cases(db)                       # a case for every complaint flag (idempotent)
    case = set_owner(db, case.case_id, "lin", by=supervisor)
    for late in overdue_cases(db):                 # most escalated first
        late.case.call_id, late.escalation.escalate_to, late.due

Changes go to ``complaint_events`` (who, when, before, after, note). Who may do what is
:mod:`qa.permissions`' answer (``open_complaints``: reviewers, supervisors, admins;
``manage_complaints``: supervisors and admins); the rest get ``PermissionDeniedError``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

import sqlite_utils

from qa.db import utcnow
from qa.permissions import Action, require
from qa.results import call_scores
from qa.reviews import write_transaction
from qa.users import User

__all__ = [
    "ESCALATIONS",
    "SEVERITIES",
    "CaseError",
    "CaseEvent",
    "CaseNotFoundError",
    "CaseStatus",
    "ComplaintCase",
    "Deadline",
    "Escalation",
    "OverdueCase",
    "case_events",
    "get_case",
    "is_complaint_flag",
    "list_cases",
    "open_case",
    "open_cases_from_flags",
    "overdue_cases",
    "record_reply",
    "set_owner",
    "set_status",
    "sync_complaint_cases",
]

logger = logging.getLogger(__name__)

AUTOMATIC = "(automatic)"  # opened_by of cases opened from flags
SEVERITIES = ("critical", "high", "medium", "low")


class CaseError(Exception):
    """A complaint case cannot be changed as asked; the message says what to do."""


class CaseNotFoundError(CaseError, LookupError):
    pass


class CaseStatus(StrEnum):
    OPEN = "open"  # received; nobody is handling it yet
    IN_PROGRESS = "in_progress"  # someone is handling it
    RESOLVED = "resolved"  # a solution was given to the customer
    CLOSED = "closed"  # finished (confirmed with the customer, or withdrawn)


class Milestone(StrEnum):
    REPLY = "reply"
    HANDLING = "handling"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class Escalation:
    """One rule of the source documents: ``milestone`` not reached ``days`` after the complaint
    escalates the case to ``escalate_to``."""

    days: int
    milestone: Milestone
    escalate_to: str

    @property
    def description(self) -> str:
        missing = {"reply": "no reply", "handling": "not handled", "resolution": "not resolved"}
        return f"{missing[self.milestone.value]} in {self.days} days → {self.escalate_to}"


ESCALATIONS: tuple[Escalation, ...] = (
    Escalation(3, Milestone.REPLY, "direct manager"),
    Escalation(7, Milestone.HANDLING, "branch head"),
    Escalation(15, Milestone.RESOLUTION, "company president"),
    Escalation(20, Milestone.RESOLUTION, "chairman"),
)


@dataclass(frozen=True)
class Deadline:
    """An escalation rule applied to one case, as of ``now``.

    ``state``: ``met`` (milestone reached in time), ``met late``, ``missed`` (past due and not
    reached: the case is escalated), ``pending`` (not due yet) or ``moot`` (the case was resolved
    before the milestone mattered)."""

    escalation: Escalation
    due: datetime
    reached_at: datetime | None
    state: str


@dataclass(frozen=True)
class ComplaintCase:
    """A complaint case with what the overdue list and the Complaints tab show about its call."""

    case_id: int
    call_id: str
    call_start: datetime
    agent: str | None
    agent_name: str | None
    source: str  # flag | reviewer
    flag_id: str
    severity: str
    summary: str
    owner: str
    status: CaseStatus
    opened_at: datetime
    opened_by: str
    replied_at: datetime | None
    handling_since: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime | None

    @property
    def active(self) -> bool:
        """Open or in progress: the escalation clock is still running."""
        return self.status in (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)

    @property
    def agent_label(self) -> str:
        return self.agent_name or self.agent or "(unknown)"

    def reached(self, milestone: Milestone) -> datetime | None:
        """When the milestone was reached (None: not yet)."""
        return {
            Milestone.REPLY: self.replied_at,
            Milestone.HANDLING: self.handling_since,
            Milestone.RESOLUTION: self.resolved_at,
        }[milestone]

    def deadlines(self, now: datetime | None = None) -> tuple[Deadline, ...]:
        """Every escalation rule for this case, as of ``now`` (default: the current time)."""
        now = now or datetime.now(UTC)
        found = []
        for rule in ESCALATIONS:
            due = self.opened_at + timedelta(days=rule.days)
            reached = self.reached(rule.milestone)
            if reached is not None:
                state = "met" if reached < due else "met late"
            elif not self.active:
                state = "moot"
            else:
                state = "missed" if now >= due else "pending"
            found.append(Deadline(rule, due, reached, state))
        return tuple(found)

    def escalation(self, now: datetime | None = None) -> Escalation | None:
        """The highest level this case is escalated to now (None: on time)."""
        missed = [d.escalation for d in self.deadlines(now) if d.state == "missed"]
        return missed[-1] if missed else None

    def next_deadline(self, now: datetime | None = None) -> Deadline | None:
        """The next deadline not yet due whose milestone is still to reach."""
        pending = [d for d in self.deadlines(now) if d.state == "pending"]
        return pending[0] if pending else None


@dataclass(frozen=True)
class OverdueCase:
    """An active case with a missed deadline: who it is escalated to, since when."""

    case: ComplaintCase
    escalation: Escalation
    due: datetime

    def overdue_by(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.due


@dataclass(frozen=True)
class CaseEvent:
    """One change to a case, for its history."""

    case_id: int
    at: datetime
    by: str
    action: str  # opened | owner | status | reply
    before: str
    after: str
    note: str


# --- reading ----------------------------------------------------------------------------------

_CASE_SQL = """
select k.case_id, k.call_id, c.start, c.agent, c.agent_name, k.source, k.flag_id, k.severity,
       k.summary, k.owner, k.status, k.opened_at, k.opened_by, k.replied_at, k.handling_since,
       k.resolved_at, k.closed_at, k.updated_at
from complaint_cases k join calls c on c.call_id = k.call_id
"""


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _case(row: tuple) -> ComplaintCase:
    return ComplaintCase(
        case_id=row[0],
        call_id=row[1],
        call_start=_time(row[2]),
        agent=row[3],
        agent_name=row[4],
        source=row[5],
        flag_id=row[6] or "",
        severity=row[7] or "medium",
        summary=row[8] or "",
        owner=row[9] or "",
        status=CaseStatus(row[10]),
        opened_at=_time(row[11]),
        opened_by=row[12] or "",
        replied_at=_time(row[13]),
        handling_since=_time(row[14]),
        resolved_at=_time(row[15]),
        closed_at=_time(row[16]),
        updated_at=_time(row[17]),
    )


def get_case(db: sqlite_utils.Database, case_id: int) -> ComplaintCase:
    """The case, or :class:`CaseNotFoundError`."""
    row = db.execute(_CASE_SQL + " where k.case_id = ?", [int(case_id)]).fetchone()
    if row is None:
        raise CaseNotFoundError(f"no complaint case {case_id}: pick one from the list")
    return _case(row)


def list_cases(
    db: sqlite_utils.Database,
    *,
    status: CaseStatus | str | Sequence[CaseStatus | str] | None = None,
    agent: str | None = None,
    owner: str | None = None,
    call_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[ComplaintCase]:
    """Cases, newest complaint first. ``agent`` matches the agent id or name; ``since`` and
    ``until`` (inclusive local days in ``tz``) bound when the customer complained."""
    where, params = [], []
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        where.append(f"k.status in ({','.join('?' * len(wanted))})")
        params += [CaseStatus(s).value for s in wanted]
    if agent is not None:
        where.append("(c.agent = ? or c.agent_name = ?)")
        params += [agent, agent]
    if owner is not None:
        where.append("k.owner = ?")
        params.append(owner)
    if call_id is not None:
        where.append("k.call_id = ?")
        params.append(call_id)
    if since is not None:
        where.append("k.opened_at >= ?")
        params.append(_iso(datetime.combine(since, datetime.min.time(), tz)))
    if until is not None:
        where.append("k.opened_at < ?")
        params.append(_iso(datetime.combine(until + timedelta(days=1), datetime.min.time(), tz)))
    sql = _CASE_SQL + (" where " + " and ".join(where) if where else "")
    rows = db.execute(sql + " order by k.opened_at desc, k.case_id desc", params).fetchall()
    return [_case(row) for row in rows]


def overdue_cases(db: sqlite_utils.Database, now: datetime | None = None) -> list[OverdueCase]:
    """Active cases past a deadline, most escalated first, then the longest overdue."""
    now = now or datetime.now(UTC)
    found = []
    for case in list_cases(db, status=(CaseStatus.OPEN, CaseStatus.IN_PROGRESS)):
        missed = [d for d in case.deadlines(now) if d.state == "missed"]
        if missed:
            found.append(OverdueCase(case, missed[-1].escalation, missed[-1].due))
    level = {rule: i for i, rule in enumerate(ESCALATIONS)}
    found.sort(key=lambda o: (-level[o.escalation], o.due, o.case.case_id))
    return found


def case_events(db: sqlite_utils.Database, case_id: int) -> list[CaseEvent]:
    """The case's history, oldest first."""
    rows = db.execute(
        "select case_id, at, by_user, action, before, after, note from complaint_events "
        "where case_id = ? order by event_id",
        [int(case_id)],
    ).fetchall()
    return [
        CaseEvent(r[0], _time(r[1]), r[2] or "", r[3], r[4] or "", r[5] or "", r[6] or "")
        for r in rows
    ]


# --- opening ----------------------------------------------------------------------------------


def is_complaint_flag(flag_id: str) -> bool:
    """Whether a flag id is a complaint (``complaint``, or a rubric's ``complaint_*`` variant)."""
    return flag_id == "complaint" or flag_id.startswith("complaint")


def _log(
    db: sqlite_utils.Database, case_id: int, by: str, action: str, before: str, after: str,
    note: str = "", at: str | None = None,
) -> None:  # fmt: skip
    db.conn.execute(
        "insert into complaint_events (case_id, at, by_user, action, before, after, note) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [case_id, at or utcnow(), by, action, before, after, note],
    )


def open_cases_from_flags(db: sqlite_utils.Database, call_id: str) -> list[ComplaintCase]:
    """Open a case for the call if its latest scorecards raise a complaint flag and it has no
    flag-opened case yet; return the cases opened now (none or one). Safe to call again: the
    scoring pipeline calls it after a call's results are committed (it commits its own
    transaction, so not inside another).

    The case takes the most severe complaint flag's severity and, as its summary, the customer's
    words that raised it; its clock starts at the call's start."""
    scores = call_scores(db, call_id=call_id)
    flags = [flag for score in scores for flag in score.flags if is_complaint_flag(flag.id)]
    if not flags:
        return []
    flags.sort(key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9)
    flag, start = flags[0], scores[0].start
    summary = " / ".join(dict.fromkeys(e.text.strip() for e in flag.evidence))
    now = utcnow()
    with db.conn:
        cursor = db.conn.execute(
            "insert or ignore into complaint_cases (call_id, source, flag_id, severity, summary, "
            "owner, status, opened_at, opened_by, updated_at) "
            "values (?, 'flag', ?, ?, ?, '', 'open', ?, ?, ?)",
            [call_id, flag.id, flag.severity, summary, _iso(start), AUTOMATIC, now],
        )
        if cursor.rowcount == 0:
            return []
        case_id = cursor.lastrowid
        _log(db, case_id, AUTOMATIC, "opened", "", CaseStatus.OPEN.value, f"flag {flag.id}")
    logger.info("opened complaint case %d for call %s from flag %s", case_id, call_id, flag.id)
    return [get_case(db, case_id)]


def sync_complaint_cases(db: sqlite_utils.Database) -> list[ComplaintCase]:
    """Open the missing cases for every call whose latest scorecards raise a complaint flag (a
    backfill for calls scored before cases existed, or by a pipeline that does not open them).
    Returns the cases opened now."""
    rows = db.execute(
        "select distinct f.call_id from flags f "
        "where f.scorecard_id in (select max(s.id) from scorecards s group by s.call_id, "
        "s.rubric_id) and (f.flag_id = 'complaint' or f.flag_id like 'complaint%') "
        "and not exists (select 1 from complaint_cases k where k.call_id = f.call_id "
        "and k.source = 'flag') order by f.call_id"
    ).fetchall()
    opened = [case for (call_id,) in rows for case in open_cases_from_flags(db, call_id)]
    if opened:
        logger.info("opened %d complaint case(s) from flags", len(opened))
    return opened


def _iso(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def open_case(
    db: sqlite_utils.Database,
    call_id: str,
    *,
    by: User,
    summary: str,
    severity: str = "medium",
    owner: str = "",
) -> ComplaintCase:
    """A reviewer opens a case on a call (a complaint the rubric did not flag). Its clock
    starts at the call's start, when the customer complained."""
    require(by, Action.OPEN_COMPLAINTS)
    if severity not in SEVERITIES:
        raise CaseError(f"unknown severity {severity!r}: choose one of {', '.join(SEVERITIES)}")
    if not summary.strip():
        raise CaseError("say what the customer complained about (a summary is required)")
    row = db.execute("select start from calls where call_id = ?", [call_id]).fetchone()
    if row is None:
        raise CaseNotFoundError(f"no call {call_id!r} in the store: pick one from the list")
    now = utcnow()
    with db.conn:
        cursor = db.conn.execute(
            "insert into complaint_cases (call_id, source, flag_id, severity, summary, owner, "
            "status, opened_at, opened_by, updated_at) "
            "values (?, 'reviewer', '', ?, ?, ?, 'open', ?, ?, ?)",
            [call_id, severity, summary.strip(), owner, _iso(_time(row[0])), by.username, now],
        )
        case_id = cursor.lastrowid
        _log(db, case_id, by.username, "opened", "", CaseStatus.OPEN.value, summary.strip())
        if owner:
            _log(db, case_id, by.username, "owner", "", owner)
    logger.info("%s opened complaint case %d on call %s", by.username, case_id, call_id)
    return get_case(db, case_id)


# --- working a case -----------------------------------------------------------------------------


def set_owner(
    db: sqlite_utils.Database, case_id: int, owner: str, *, by: User, note: str = ""
) -> ComplaintCase:
    """Give the case to ``owner`` (a username; '' unassigns it)."""
    require(by, Action.MANAGE_COMPLAINTS)
    owner = owner.strip()
    if owner and db.execute("select 1 from users where username = ?", [owner]).fetchone() is None:
        raise CaseError(f"no user {owner!r}: add them with qa users add, or pick another owner")
    now = utcnow()
    with write_transaction(db):  # read and change under one lock: two supervisors at once
        case = get_case(db, case_id)
        if owner == case.owner:
            return case
        db.conn.execute(
            "update complaint_cases set owner = ?, updated_at = ? where case_id = ?",
            [owner, now, case.case_id],
        )
        _log(db, case.case_id, by.username, "owner", case.owner, owner, note, now)
    return get_case(db, case.case_id)


def set_status(
    db: sqlite_utils.Database,
    case_id: int,
    status: CaseStatus | str,
    *,
    by: User,
    note: str = "",
    at: datetime | None = None,
) -> ComplaintCase:
    """Move the case to ``status`` at ``at`` (default now), stamping the milestones it implies:
    ``in_progress`` starts handling; ``resolved`` and ``closed`` also count as replied and
    handled. Re-opening clears the resolution. Resolving or closing needs a note."""
    require(by, Action.MANAGE_COMPLAINTS)
    status = CaseStatus(status)
    if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and not note.strip():
        raise CaseError(f"say how the complaint was {status.value} (a note is required)")
    when = at or datetime.now(UTC)
    stamp = utcnow()
    with write_transaction(db):
        case = get_case(db, case_id)
        if status == case.status:
            return case
        updated = _with_status(case, status, when)
        db.conn.execute(
            "update complaint_cases set status = ?, replied_at = ?, handling_since = ?, "
            "resolved_at = ?, closed_at = ?, updated_at = ? where case_id = ?",
            [status.value, *(_iso(t) if t else None for t in (
                updated.replied_at, updated.handling_since, updated.resolved_at,
                updated.closed_at)), stamp, case.case_id],
        )  # fmt: skip
        _log(db, case.case_id, by.username, "status", case.status.value, status.value,
             note.strip(), _iso(when))  # fmt: skip
    logger.info("%s moved complaint case %d to %s", by.username, case.case_id, status.value)
    return get_case(db, case.case_id)


def _with_status(case: ComplaintCase, status: CaseStatus, when: datetime) -> ComplaintCase:
    replied, handling = case.replied_at, case.handling_since
    if status == CaseStatus.OPEN:
        return replace(case, status=status, handling_since=None, resolved_at=None, closed_at=None)
    if status == CaseStatus.IN_PROGRESS:
        return replace(
            case, status=status, handling_since=handling or when, resolved_at=None, closed_at=None
        )
    resolved = case.resolved_at or when
    return replace(
        case,
        status=status,
        replied_at=replied or when,
        handling_since=handling or when,
        resolved_at=resolved if status == CaseStatus.CLOSED else when,
        closed_at=when if status == CaseStatus.CLOSED else None,
    )


def record_reply(
    db: sqlite_utils.Database,
    case_id: int,
    *,
    by: User,
    note: str = "",
    at: datetime | None = None,
) -> ComplaintCase:
    """Record that the customer was replied to (told who owns the case) at ``at`` (default now).
    The case's owner may record it, and so may supervisors and admins."""
    when = _iso(at or datetime.now(UTC))
    with write_transaction(db):
        case = get_case(db, case_id)
        if by.username != case.owner:
            require(by, Action.MANAGE_COMPLAINTS)
        if case.replied_at is not None:
            return case
        db.conn.execute(
            "update complaint_cases set replied_at = ?, updated_at = ? where case_id = ?",
            [when, utcnow(), case.case_id],
        )
        _log(db, case.case_id, by.username, "reply", "", when, note.strip(), when)
    return get_case(db, case.case_id)
