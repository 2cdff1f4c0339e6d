"""The audit log: who changed what, when, from what to what, and why.

Every human change to a review (claims, assignments, item decisions, submissions, disputes) and
to users is recorded here, inside the same transaction as the change itself, so the log and the
data never disagree::

    with db.conn:
        ...change...
        record(db, "lin", "item.override", call_id=cid, target="inbound-service/greeting",
               before="fail", after="pass", reason="greeting heard at 0:01, ASR missed it")
    for entry in entries(db, call_id=cid):
        entry.at, entry.actor, entry.action, entry.before, entry.after, entry.reason

The log is append-only: nothing here updates or deletes an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from qa.sql import Filters, utcnow

__all__ = ["AuditEntry", "entries", "record"]


@dataclass(frozen=True)
class AuditEntry:
    """One change. ``before``/``after`` are the values as text (None: there was none)."""

    entry_id: int
    at: datetime
    actor: str
    action: str
    call_id: str | None
    review_id: int | None
    target: str
    before: str | None
    after: str | None
    reason: str


def record(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    *,
    call_id: str | None = None,
    review_id: int | None = None,
    target: str = "",
    before: str | None = None,
    after: str | None = None,
    reason: str = "",
    at: str | None = None,
) -> None:
    """Append one entry, inside the caller's transaction (``with db.conn:``)."""
    db.conn.execute(
        "insert into audit_log (at, actor, action, call_id, review_id, target, before, after, "
        "reason) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [at or utcnow(), actor, action, call_id, review_id, target, before, after, reason],
    )


def entries(
    db: sqlite_utils.Database,
    *,
    call_id: str | None = None,
    actor: str | None = None,
    action_prefix: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Entries, oldest first, optionally for one call, one actor, actions starting with
    ``action_prefix`` (``"item."``), or from ``since`` on (timezone-aware)."""
    where = Filters()
    if call_id is not None:
        where.add("call_id = ?", call_id)
    if actor is not None:
        where.add("actor = ?", actor)
    if action_prefix is not None:
        where.add("substr(action, 1, ?) = ?", len(action_prefix), action_prefix)
    if since is not None:
        where.add("at >= ?", since.astimezone(UTC).isoformat(timespec="seconds"))
    params = where.params
    sql = (
        "select entry_id, at, actor, action, call_id, review_id, target, before, after, reason "
        "from audit_log" + where.sql() + " order by entry_id"
    )
    if limit is not None:
        sql = f"select * from ({sql.replace(' order by entry_id', '')} order by entry_id desc "
        sql += "limit ?) order by entry_id"
        params.append(int(limit))
    return [
        AuditEntry(
            entry_id=row[0],
            at=datetime.fromisoformat(row[1]),
            actor=row[2],
            action=row[3],
            call_id=row[4],
            review_id=row[5],
            target=row[6] or "",
            before=row[7],
            after=row[8],
            reason=row[9] or "",
        )
        for row in db.execute(sql, params).fetchall()
    ]
