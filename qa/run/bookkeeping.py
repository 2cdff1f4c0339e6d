"""The run's bookkeeping in the store: call status, the run's record of each call, the runs table.

Everything here runs in the ``qa run`` process, the database's only writer (see
:mod:`qa.run.pipeline`). :func:`stage_outcome` leaves its insert uncommitted on purpose, so that the
call's own save commits both in one transaction::

    stage_outcome(db, run_id, outcome)
    save_results(db, call_id, transcript, cards)      # commits the record and the results together
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from pathlib import Path

import sqlite_utils

from calldata import Call
from qa.config import Config
from qa.db import open_db
from qa.ingest import IngestResult
from qa.ingest.paths import safe_text
from qa.results.store import (
    insert_scorecards,
    load_call,
    load_transcript,
    save_call,
    scored_rubrics,
)
from qa.run.report import CallOutcome, CallStatus, RunSummary
from qa.sql import inserted_id, utcnow
from scoring import Rubric, score_call, select_rubrics

__all__ = [
    "call_states",
    "finish_run",
    "record_pending",
    "rescore_call",
    "save_pending",
    "set_status",
    "stage_outcome",
    "start_run",
]


def stage_outcome(db: sqlite_utils.Database, run_id: int, outcome: CallOutcome) -> None:
    """This run's record of a call, *not committed*: Python's sqlite3 opens a transaction on this
    insert, and the call's own save (``save_results`` / ``set_status``) commits both at once, or
    rolls both back. So no run ever has a done call without its record, or the other way round."""
    db.conn.execute(
        "insert or replace into run_calls (run_id, call_id, status, stage, reason, "
        "audio_seconds, seconds) values (?, ?, ?, ?, ?, ?, ?)",
        [run_id, outcome.call_id, outcome.status.value, outcome.stage.value, outcome.reason,
         outcome.audio_seconds, outcome.seconds],
    )  # fmt: skip


def set_status(db: sqlite_utils.Database, call_id: str, status: CallStatus, reason: str) -> None:
    """Record why a call is not done (``failed`` or ``skipped``)."""
    with db.conn:
        db.conn.execute(
            "update calls set status = ?, error = ?, updated_at = ? where call_id = ?",
            [status.value, safe_text(reason), utcnow(), call_id],
        )


def save_pending(db: sqlite_utils.Database, call: Call, store: Path) -> None:
    """Insert or refresh a call's row (metadata from this ingest) as ``pending``."""
    with db.conn:
        save_call(db, call, store, status=CallStatus.PENDING)


def rescore_call(db: sqlite_utils.Database, rubrics: Sequence[Rubric], call_id: str) -> int:
    """Score a done call against rubric versions it has no scorecard for, from its stored
    transcript. Returns how many scorecards were added."""
    row = db.execute("select language from transcripts where call_id = ?", [call_id]).fetchone()
    if row is None:
        return 0
    call = load_call(db, call_id)
    have = scored_rubrics(db, call_id)
    missing = [
        rubric
        for rubric in select_rubrics(list(rubrics), call, row[0])
        if (rubric.id, rubric.version) not in have
    ]
    if not missing:  # the usual night: decided without parsing the stored transcript
        return 0
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None:  # removed since the row above was read
        return 0
    cards = [score_call(rubric, transcript, call) for rubric in missing]
    with db.conn:
        insert_scorecards(db, cards)
    return len(cards)


def start_run(db: sqlite_utils.Database, config: Config) -> int:
    options = config.model_dump(mode="json", exclude={"agents"})
    with db.conn:
        cursor = db.conn.execute(
            "insert into runs (started_at, status, options_json, host, pid) "
            "values (?, 'running', ?, ?, ?)",
            [utcnow(), json.dumps(options), socket.gethostname(), os.getpid()],
        )
    return inserted_id(cursor)


def finish_run(db: sqlite_utils.Database, summary: RunSummary) -> None:
    with db.conn:
        db.conn.execute(
            "update runs set finished_at = ?, status = ?, found = ?, done = ?, skipped = ?, "
            "failed = ?, audio_seconds = ?, wall_seconds = ?, report_json = ? where run_id = ?",
            [
                summary.finished_at,
                summary.status.value,
                summary.found,
                summary.done,
                len(summary.skipped),
                len(summary.failed),
                summary.audio_seconds,
                summary.wall_seconds,
                json.dumps(summary.to_json(), ensure_ascii=False),
                summary.run_id,
            ],
        )


def call_states(db: sqlite_utils.Database, call_ids: Sequence[str]) -> dict[str, str]:
    """Each call's status in the store (calls not yet stored are absent)."""
    states: dict[str, str] = {}
    ids = list(call_ids)
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"select call_id, status from calls where call_id in ({marks})", chunk)
        states.update(dict(rows.fetchall()))
    return states


def record_pending(config: Config, result: IngestResult) -> int:
    """Record the calls of ``result`` (from :func:`qa.ingest.ingest`) that the results database
    does not have yet as ``pending`` (``qa run`` then transcribes them). Returns how many were
    added. It is the run's bookkeeping, not ingest's: ingest never writes results."""
    db = open_db(config.require("db"))
    try:
        have = {row[0] for row in db.execute("select call_id from calls").fetchall()}
        added = 0
        with db.conn:
            for call in result.calls:
                if call.call_id not in have:
                    save_call(db, call, result.store, status=CallStatus.PENDING)
                    added += 1
        return added
    finally:
        db.conn.close()
