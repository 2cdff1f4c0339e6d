"""Migration ``001_calls_and_results``: calls and the machine's results: transcripts, scorecards,
item results and flags.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "calls").create(
        {
            "call_id": str,
            "store_root": str,  # absolute path of the store the recordings are relative to
            "recordings": str,  # JSON list of paths relative to store_root
            "start": str,  # ISO 8601, UTC
            "direction": str,
            "queue": str,
            "agent": str,
            "agent_name": str,
            "caller": str,
            "destination": str,
            "disposition": str,
            "duration": float,
            "billsec": float,
            "hangup_by": str,
            "language": str,
            "status": str,  # pending | done | failed | skipped
            "error": str,  # why it failed or was skipped, with what to do
            "audio_seconds": float,
            "updated_at": str,
        },
        pk="call_id",
    )
    table(db, "calls").create_index(["agent", "start"])
    table(db, "calls").create_index(["status"])
    table(db, "transcripts").create(
        {
            "call_id": str,
            "language": str,
            "duration": float,
            "channel_mode": str,
            "role_confidence": float,
            "confidence": float,
            "model": str,
            "transcript_json": str,  # calldata.Transcript
            "created_at": str,
        },
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "scorecards").create(
        {
            "id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "score": float,
            "max_score": float,
            "passed": int,
            "created_at": str,
            "scorecard_json": str,  # calldata.Scorecard
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "scorecards").create_index(["call_id", "rubric_id", "rubric_version"], unique=True)
    table(db, "item_results").create(
        {
            "scorecard_id": int,
            "item_id": str,
            "title": str,
            "result": str,  # pass | fail | na
            "weight": float,
            "critical": int,
            "reason": str,
            "evidence_json": str,  # list of calldata.Evidence
        },
        pk=("scorecard_id", "item_id"),
        foreign_keys=[("scorecard_id", "scorecards", "id")],
    )
    table(db, "flags").create(
        {
            "scorecard_id": int,
            "call_id": str,
            "flag_id": str,
            "title": str,
            "severity": str,
            "evidence_json": str,
        },
        pk=("scorecard_id", "flag_id"),
        foreign_keys=[("scorecard_id", "scorecards", "id"), ("call_id", "calls", "call_id")],
    )
    table(db, "flags").create_index(["call_id"])
