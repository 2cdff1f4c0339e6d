"""Migration ``014_alert_deliveries``: every alert sent (or being sent, or given up on) by
qa.alerts: one row per rule, channel and event, keyed by its idempotency key so that a re-run
never sends the same alert twice; a row left 'sending' by a crash is sent again (at least once).
'dead' is the dead letter.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "alert_deliveries").create(
        {
            "delivery_id": int,
            "idempotency_key": str,  # rule/channel/event key
            "rule_id": str,
            "channel": str,
            "event": str,  # qa.alert_config.EventKind
            "event_key": str,
            "call_id": str,
            "case_id": int,
            "run_id": int,
            "agent": str,
            "status": str,  # sending | sent | dead
            "attempts": int,
            "last_error": str,
            "payload_json": str,  # the message as sent (no transcript text unless the site asks)
            "created_at": str,
            "updated_at": str,
            "sent_at": str,
        },
        pk="delivery_id",
        not_null={"idempotency_key", "rule_id", "channel", "event", "status"},
    )
    table(db, "alert_deliveries").create_index(["idempotency_key"], unique=True)
    table(db, "alert_deliveries").create_index(["created_at"])
    table(db, "alert_deliveries").create_index(["status"])
