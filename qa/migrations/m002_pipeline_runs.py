"""Migration ``002_pipeline_runs``: the nightly run's record: each run, and what became of each
call in it.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "runs").create(
        {
            "run_id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | finished | crashed
            "options_json": str,
            "found": int,
            "done": int,
            "skipped": int,
            "failed": int,
            "audio_seconds": float,
            "wall_seconds": float,
        },
        pk="run_id",
    )
    table(db, "run_calls").create(
        {
            "run_id": int,
            "call_id": str,
            "status": str,  # done | skipped | failed
            "stage": str,  # ingest | transcribe | score | save
            "reason": str,
            "audio_seconds": float,
            "seconds": float,
        },
        pk=("run_id", "call_id"),
        foreign_keys=[("run_id", "runs", "run_id")],
    )
