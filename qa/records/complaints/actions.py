"""Opening complaint cases (from flags or by a person) and working them: owner, status, the
confirmation of the owner to the customer, reply.

Every change is written with its event (``complaint_events``) under the store's write lock."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import sqlite_utils

from qa.access.permissions import Action, require
from qa.access.roles import User
from qa.records.complaints.cases import (
    AUTOMATIC,
    SEVERITIES,
    CaseError,
    CaseNotFoundError,
    CaseStatus,
    ComplaintCase,
    iso_time,
    stored_time,
)
from qa.records.complaints.store import get_case
from qa.results.store import call_scores
from qa.review.state import write_transaction
from qa.sql import inserted_id, utcnow

logger = logging.getLogger(__name__)


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


def open_cases_from_flags(
    db: sqlite_utils.Database, call_id: str, *, at: datetime | None = None
) -> list[ComplaintCase]:
    """Open a case for the call if its latest scorecards raise a complaint flag and it has no
    flag-opened case yet; return the cases opened now (none or one). Safe to call again: the
    scoring pipeline calls it after a call's results are committed (it commits its own
    transaction, so not inside another).

    The case takes the most severe complaint flag's severity and, as its summary, the customer's
    words that raised it; its clock starts at the call's start, and the four hours to confirm its
    owner to the customer at ``at`` (default now: when the case reaches the store)."""
    scores = call_scores(db, call_id=call_id)
    # a hint (raised on a guess about misheard words) waits for a reviewer: no case
    flags = [
        flag
        for score in scores
        for flag in score.flags
        if is_complaint_flag(flag.id) and not flag.hint
    ]
    if not flags:
        return []
    flags.sort(key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9)
    flag, start = flags[0], scores[0].start
    summary = " / ".join(dict.fromkeys(e.text.strip() for e in flag.evidence))
    now = iso_time(at) if at else utcnow()
    with db.conn:
        cursor = db.conn.execute(
            "insert or ignore into complaint_cases (call_id, source, flag_id, severity, summary, "
            "owner, status, opened_at, opened_by, updated_at, recorded_at) "
            "values (?, 'flag', ?, ?, ?, '', 'open', ?, ?, ?, ?)",
            [call_id, flag.id, flag.severity, summary, iso_time(start), AUTOMATIC, now, now],
        )
        if cursor.rowcount == 0:
            return []
        case_id = inserted_id(cursor)
        _log(db, case_id, AUTOMATIC, "opened", "", CaseStatus.OPEN.value, f"flag {flag.id}", now)
    logger.info("opened complaint case %d for call %s from flag %s", case_id, call_id, flag.id)
    return [get_case(db, case_id)]


def sync_complaint_cases(
    db: sqlite_utils.Database, *, at: datetime | None = None
) -> list[ComplaintCase]:
    """Open the missing cases for every call whose latest scorecards raise a complaint flag (a
    backfill for calls scored before cases existed, or by a pipeline that does not open them).
    Returns the cases opened now."""
    rows = db.execute(
        "select distinct f.call_id from flags f "
        "where f.scorecard_id in (select max(s.id) from scorecards s group by s.call_id, "
        "s.rubric_id) and (f.flag_id = 'complaint' or f.flag_id like 'complaint%') "
        "and f.hint = 0 "
        "and not exists (select 1 from complaint_cases k where k.call_id = f.call_id "
        "and k.source = 'flag') order by f.call_id"
    ).fetchall()
    opened = [case for (call_id,) in rows for case in open_cases_from_flags(db, call_id, at=at)]
    if opened:
        logger.info("opened %d complaint case(s) from flags", len(opened))
    return opened


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
            "status, opened_at, opened_by, updated_at, recorded_at) "
            "values (?, 'reviewer', '', ?, ?, ?, 'open', ?, ?, ?, ?)",
            [
                call_id,
                severity,
                summary.strip(),
                owner,
                iso_time(stored_time(row[0])),
                by.username,
                now,
                now,
            ],
        )
        case_id = inserted_id(cursor)
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
    ``in_progress`` starts handling; ``resolved`` and ``closed`` also count as owner confirmed,
    replied and handled. Re-opening clears the resolution. Resolving or closing needs a note."""
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
            "update complaint_cases set status = ?, ownership_confirmed_at = ?, replied_at = ?, "
            "handling_since = ?, resolved_at = ?, closed_at = ?, updated_at = ? "
            "where case_id = ?",
            [status.value, *(iso_time(t) if t else None for t in (
                updated.ownership_confirmed_at, updated.replied_at, updated.handling_since,
                updated.resolved_at, updated.closed_at)), stamp, case.case_id],
        )  # fmt: skip
        _log(db, case.case_id, by.username, "status", case.status.value, status.value,
             note.strip(), iso_time(when))  # fmt: skip
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
        ownership_confirmed_at=case.ownership_confirmed_at or when,
        replied_at=replied or when,
        handling_since=handling or when,
        resolved_at=resolved if status == CaseStatus.CLOSED else when,
        closed_at=when if status == CaseStatus.CLOSED else None,
    )


def confirm_ownership(
    db: sqlite_utils.Database,
    case_id: int,
    *,
    by: User,
    note: str = "",
    at: datetime | None = None,
) -> ComplaintCase:
    """Record that the customer was told who owns their case, at ``at`` (default now): the source
    documents want it within four hours. The case needs an owner first. The owner may record
    it, and so may supervisors and admins."""
    return _stamp_milestone(db, case_id, "ownership_confirmed_at", "ownership", by, note, at)


def record_reply(
    db: sqlite_utils.Database,
    case_id: int,
    *,
    by: User,
    note: str = "",
    at: datetime | None = None,
) -> ComplaintCase:
    """Record that the customer was replied to at ``at`` (default now). The case's owner may
    record it, and so may supervisors and admins."""
    return _stamp_milestone(db, case_id, "replied_at", "reply", by, note, at)


def _stamp_milestone(
    db: sqlite_utils.Database, case_id: int, column: str, action: str, by: User, note: str,
    at: datetime | None,
) -> ComplaintCase:  # fmt: skip
    when = iso_time(at or datetime.now(UTC))
    with write_transaction(db):
        case = get_case(db, case_id)
        if by.username != case.owner:
            require(by, Action.MANAGE_COMPLAINTS)
        if action == "ownership" and not case.owner:
            raise CaseError("give the case an owner first: the customer is told who owns it")
        if getattr(case, column) is not None:
            return case
        db.conn.execute(  # column is one of two names fixed above, never user input
            f"update complaint_cases set {column} = ?, updated_at = ? where case_id = ?",
            [when, utcnow(), case.case_id],
        )
        _log(db, case.case_id, by.username, action, "", when, note.strip(), when)
    return get_case(db, case.case_id)
