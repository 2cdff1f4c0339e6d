"""Ingest from an Asterisk/FreePBX store: recordings, CDR and queue_log become typed calls.

Usage::

    result = ingest(load_config("site.toml"))          # incremental when config.db is set
    for call in result.new_calls: ...                  # calldata.Call, taken in this run
    for item in result.skipped: ...                    # SkippedFile: path, status, reason
    preview = ingest(config, dry_run=True)             # the same decisions, nothing written

With ``db`` set, what ingest has seen is kept in the database's ledger
(:mod:`qa.ingest.ledger`): a nightly run examines only what is new or changed, walks the recent
day folders again (``rescan_days``), and never takes a recording twice.
"""

from __future__ import annotations

import time

from qa import runtime
from qa.config import Config
from qa.ingest.agents import AgentDirectory
from qa.ingest.calls import Attribution, CallSources, IngestResult, attribute, build_call
from qa.ingest.cdr import CdrIndex, CdrReadError, CdrRecord
from qa.ingest.cdr_csv import read_master_csv
from qa.ingest.cdr_mysql import CdrDatabase
from qa.ingest.ledger import Action, FileDecision, Ledger
from qa.ingest.names import NameLayout, RecordingName, RecordingNameError, parse_recording_name
from qa.ingest.queue_log import QueueCall, QueueLog, QueueLogReadError, read_queue_log
from qa.ingest.scan import ScanOptions, scan_store
from qa.ingest.sources import ConfiguredSources
from qa.ingest.spool import RecordingSet, SkippedFile, SkipStatus, SpoolError, walk_spool

__all__ = [
    "Action",
    "AgentDirectory",
    "Attribution",
    "CallSources",
    "CdrDatabase",
    "CdrIndex",
    "CdrReadError",
    "CdrRecord",
    "FileDecision",
    "IngestResult",
    "NameLayout",
    "QueueCall",
    "QueueLog",
    "QueueLogReadError",
    "RecordingName",
    "RecordingNameError",
    "RecordingSet",
    "SkipStatus",
    "SkippedFile",
    "SpoolError",
    "attribute",
    "build_call",
    "ingest",
    "parse_recording_name",
    "read_master_csv",
    "read_queue_log",
    "walk_spool",
]


def ingest(config: Config, *, now: float | None = None, dry_run: bool = False) -> IngestResult:
    """Scan the store named in ``config`` with its CDR and queue_log; return what was found.

    With ``config.db`` set, the ledger there is read and (unless ``dry_run``) this run's
    decisions and calls are recorded in it, the database created if needed. ``dry_run`` never
    writes anything and never creates the database.

    Raises :class:`qa.config.ConfigError` when no store is set, and :class:`SpoolError`,
    :class:`CdrReadError` or :class:`QueueLogReadError` (each naming the file and the fix) when a
    source cannot be read.
    """
    store = config.require("store")
    options = ScanOptions(
        now=time.time() if now is None else now,
        zone=config.zone,
        min_age=config.min_age_minutes * 60,
        cdr_wait=config.cdr_wait_minutes * 60,
        rescan_days=config.rescan_days,
        link_roots=config.allowed_link_roots,
    )
    ledger = Ledger.open(config.db, store, write=not dry_run)
    try:
        with ConfiguredSources(config) as sources:
            result, update = scan_store(store, ledger, sources, options)
        runtime.checkpoint("ledger")
        ledger.save(update)
    finally:
        ledger.close()
    return result
