"""Migration ``005_ingest_ledger``: what ingest has seen in each store (qa/ingest/ledger.py), so
that a nightly run examines only what is new or changed and never takes a recording twice; and
the queue_log facts a call now carries.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "ingest_files").create(
        {
            "store_root": str,
            "path": str,  # relative to store_root
            "size": int,
            "mtime_ns": int,
            "action": str,  # take | defer | skip | fail
            "reason": str,
            "call_id": str,
            "seen_at": str,
        },
        pk=("store_root", "path"),
    )
    table(db, "ingest_files").create_index(["store_root", "action"])
    # a recording's identity (name:<stem>, sha256:<hex>) → its call
    table(db, "ingest_keys").create(
        {"store_root": str, "key": str, "call_id": str},  # call_id null: never answered
        pk=("store_root", "key"),
    )
    table(db, "ingest_calls").create(
        {
            "store_root": str,
            "call_id": str,
            "uniqueid": str,
            "start": str,
            "call_json": str,  # calldata.Call as ingest took it
            "taken_at": str,
        },
        pk=("store_root", "call_id"),
    )
    table(db, "ingest_calls").create_index(["store_root", "uniqueid"])
    table(db, "ingest_folders").create(
        {"store_root": str, "path": str, "mtime_ns": int}, pk=("store_root", "path")
    )
    table(db, "ingest_scans").create(
        {
            "scan_id": int,
            "store_root": str,
            "started_at": str,
            "seconds": float,
            "examined": int,
            "known": int,
            "taken": int,
            "deferred": int,
            "skipped": int,
            "failed": int,
        },
        pk="scan_id",
    )
    for column, kind in (
        ("linkedid", str),
        ("hold_seconds", float),
        ("talk_seconds", float),
        ("transferred", int),
    ):
        table(db, "calls").add_column(column, kind)
