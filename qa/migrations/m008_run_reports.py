"""Migration ``008_run_reports``: each run's machine-readable report (qa runs), where it ran, and
the run lock (qa.run.lock): one row while a run holds the database, with a heartbeat that tells
a stale lock.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "runs").add_column("report_json", str)
    table(db, "runs").add_column("host", str)
    table(db, "runs").add_column("pid", int)
    table(db, "run_lock").create(
        {
            "lock_id": int,  # always 1: one run at a time
            "run_id": int,
            "host": str,
            "pid": int,
            "acquired_at": str,
            "heartbeat_at": str,
        },
        pk="lock_id",
    )
