"""Reading complaint cases: one case, a filtered list, the overdue list, a case's events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils

from qa.records.complaints.cases import (
    ESCALATIONS,
    CaseEvent,
    CaseNotFoundError,
    CaseStatus,
    ComplaintCase,
    OverdueCase,
    iso_time,
    parse_time,
    stored_time,
)
from qa.sql import Filters

_CASE_SQL = """
select k.case_id, k.call_id, c.start, c.agent, c.agent_name, k.source, k.flag_id, k.severity,
       k.summary, k.owner, k.status, k.opened_at, k.opened_by, k.replied_at, k.handling_since,
       k.resolved_at, k.closed_at, k.updated_at, k.recorded_at, k.ownership_confirmed_at
from complaint_cases k join calls c on c.call_id = k.call_id
"""


def _case(row: tuple[Any, ...]) -> ComplaintCase:
    return ComplaintCase(
        case_id=row[0],
        call_id=row[1],
        call_start=stored_time(row[2]),
        agent=row[3],
        agent_name=row[4],
        source=row[5],
        flag_id=row[6] or "",
        severity=row[7] or "medium",
        summary=row[8] or "",
        owner=row[9] or "",
        status=CaseStatus(row[10]),
        opened_at=stored_time(row[11]),
        opened_by=row[12] or "",
        recorded_at=stored_time(row[18]),
        ownership_confirmed_at=parse_time(row[19]),
        replied_at=parse_time(row[13]),
        handling_since=parse_time(row[14]),
        resolved_at=parse_time(row[15]),
        closed_at=parse_time(row[16]),
        updated_at=parse_time(row[17]),
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
    where = Filters()
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        where.add_in("k.status", [CaseStatus(s).value for s in wanted])
    if agent is not None:
        where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
    if owner is not None:
        where.add("k.owner = ?", owner)
    if call_id is not None:
        where.add("k.call_id = ?", call_id)
    if since is not None:
        where.add("k.opened_at >= ?", iso_time(datetime.combine(since, datetime.min.time(), tz)))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tz)
        where.add("k.opened_at < ?", iso_time(end))
    sql = _CASE_SQL + where.sql() + " order by k.opened_at desc, k.case_id desc"
    rows = db.execute(sql, where.params).fetchall()
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
        CaseEvent(r[0], stored_time(r[1]), r[2] or "", r[3], r[4] or "", r[5] or "", r[6] or "")
        for r in rows
    ]
