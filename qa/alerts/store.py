"""The delivery record (``alert_deliveries``): one row per rule, channel and event.

A delivery is *claimed* before it is sent (a row ``sending`` under its idempotency key) and
finished after (``sent``, or ``dead`` after the last try: the dead letter, with the payload and
the last error). A key already ``sent`` or ``dead`` is never sent again; one left ``sending`` by a
process that died mid-send is sent again once it is stale (at least once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlite_utils

from qa.sql import Filters, inserted_id, utcnow

#: A ``sending`` row older than this was left by a process that died: send it again.
STALE_CLAIM = timedelta(minutes=10)


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # every try failed: the dead letter


@dataclass(frozen=True)
class Delivery:
    """One stored delivery, as ``qa alerts log`` shows it."""

    delivery_id: int
    key: str
    rule: str
    channel: str
    event: str
    event_key: str
    call_id: str | None
    case_id: int | None
    run_id: int | None
    agent: str | None
    status: DeliveryStatus
    attempts: int
    last_error: str
    created_at: str
    sent_at: str | None
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "idempotency_key": self.key,
            "rule": self.rule,
            "channel": self.channel,
            "event": self.event,
            "event_key": self.event_key,
            "call_id": self.call_id,
            "case_id": self.case_id,
            "run_id": self.run_id,
            "agent": self.agent,
            "status": self.status.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "payload": self.payload,
        }


_COLUMNS = (
    "delivery_id, idempotency_key, rule_id, channel, event, event_key, call_id, case_id, run_id, "
    "agent, status, attempts, last_error, created_at, sent_at, payload_json"
)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    delivery_id, key, rule, channel, event, event_key, call_id, case_id, run_id, agent = row[:10]
    return Delivery(
        delivery_id=delivery_id,
        key=key,
        rule=rule,
        channel=channel,
        event=event,
        event_key=event_key,
        call_id=call_id,
        case_id=case_id,
        run_id=run_id,
        agent=agent,
        status=DeliveryStatus(row[10]),
        attempts=row[11] or 0,
        last_error=row[12] or "",
        created_at=row[13],
        sent_at=row[14],
        payload=json.loads(row[15] or "{}"),
    )


def claim(db: sqlite_utils.Database, key: str, body: dict[str, Any], channel: str) -> int | None:
    """Claim the delivery of ``body`` under ``key``: its row id, or None when it was sent (or
    dead-lettered) already or another process is sending it right now."""
    now = utcnow()
    with db.conn:
        cursor = db.conn.execute(
            "insert or ignore into alert_deliveries (idempotency_key, rule_id, channel, event, "
            "event_key, call_id, case_id, run_id, agent, status, attempts, last_error, "
            "payload_json, created_at, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', 0, '', ?, ?, ?)",
            [key, body["rule"], channel, body["event"], body["event_key"], body.get("call_id"),
             body.get("case_id"), body.get("run_id"), body.get("agent"),
             json.dumps(body, ensure_ascii=False), now, now],
        )  # fmt: skip
        if cursor.rowcount:
            return inserted_id(cursor)
        row = db.execute(
            "select delivery_id, status, updated_at from alert_deliveries "
            "where idempotency_key = ?",
            [key],
        ).fetchone()
        stale = (datetime.now(UTC) - STALE_CLAIM).isoformat(timespec="seconds")
        if row[1] != DeliveryStatus.SENDING or row[2] > stale:
            return None
        db.conn.execute(
            "update alert_deliveries set updated_at = ? where delivery_id = ?", [now, row[0]]
        )
        return int(row[0])


def record_try(
    db: sqlite_utils.Database, delivery_id: int, attempts: int, error: str, status: DeliveryStatus
) -> None:
    """Record a try's outcome: still ``sending`` (a retry follows), ``sent`` or ``dead``."""
    now = utcnow()
    with db.conn:
        db.conn.execute(
            "update alert_deliveries set status = ?, attempts = ?, last_error = ?, "
            "updated_at = ?, sent_at = ? where delivery_id = ?",
            [status.value, attempts, error, now,
             now if status == DeliveryStatus.SENT else None, delivery_id],
        )  # fmt: skip


def deliveries(
    db: sqlite_utils.Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    status: DeliveryStatus | str | None = None,
    rule: str | None = None,
    agents: set[str] | None = None,
) -> list[Delivery]:
    """Stored deliveries, oldest first; ``since``/``until`` bound when they were made."""
    where = Filters()
    if since is not None:
        where.add("created_at >= ?", since.astimezone(UTC).isoformat(timespec="seconds"))
    if until is not None:
        where.add("created_at < ?", until.astimezone(UTC).isoformat(timespec="seconds"))
    if status is not None:
        where.add("status = ?", DeliveryStatus(status).value)
    if rule is not None:
        where.add("rule_id = ?", rule)
    if agents is not None:
        where.add_in("agent", sorted(agents))
    sql = f"select {_COLUMNS} from alert_deliveries{where.sql()} order by delivery_id"
    return [_delivery(row) for row in db.execute(sql, where.params).fetchall()]
