"""Migration ``016_call_sentiment``: how each call felt (qa.results.sentiment): per-turn polarity
and the call's figures as JSON, with the customer's and agent's averages and the customer's
start→end shift as columns to filter and sort on.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "call_sentiment").create(
        {
            "call_id": str,
            "model": str,
            "customer_mean": float,
            "agent_mean": float,
            "customer_shift": float,
            "sentiment_json": str,
            "created_at": str,
        },
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
