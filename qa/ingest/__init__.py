"""Ingest from an Asterisk/FreePBX store: recordings, CDR and queue_log become typed calls.

Usage::

    result = ingest(load_config("site.toml"))
    for call in result.calls: ...          # calldata.Call, oldest first
    for item in result.skipped: ...        # SkippedFile: path, status, reason
"""

from __future__ import annotations

import time

from qa.config import Config
from qa.ingest.agents import AgentDirectory
from qa.ingest.calls import CallSources, IngestResult, build_call, ingest_store
from qa.ingest.cdr_csv import CdrIndex, CdrReadError, CdrRecord, read_master_csv
from qa.ingest.names import RecordingName, RecordingNameError, parse_recording_name
from qa.ingest.queue_log import QueueCall, QueueLog, QueueLogReadError, read_queue_log
from qa.ingest.spool import RecordingSet, SkippedFile, SkipStatus, SpoolError, walk_spool

__all__ = [
    "AgentDirectory",
    "CallSources",
    "CdrIndex",
    "CdrReadError",
    "CdrRecord",
    "IngestResult",
    "QueueCall",
    "QueueLog",
    "QueueLogReadError",
    "RecordingName",
    "RecordingNameError",
    "RecordingSet",
    "SkipStatus",
    "SkippedFile",
    "SpoolError",
    "build_call",
    "ingest",
    "ingest_store",
    "parse_recording_name",
    "read_master_csv",
    "read_queue_log",
    "walk_spool",
]


def ingest(config: Config, *, now: float | None = None) -> IngestResult:
    """Read the store, CDR and queue_log named in ``config`` and assemble its calls.

    Raises :class:`qa.config.ConfigError` when no store is set, and :class:`SpoolError`,
    :class:`CdrReadError` or :class:`QueueLogReadError` (each naming the file and the fix) when a
    source cannot be read.
    """
    store = config.require("store")
    cdr = read_master_csv(config.cdr_csv, config.zone) if config.cdr_csv else None
    queue_log = read_queue_log(config.queue_log) if config.queue_log else None
    sources = CallSources(
        cdr=cdr,
        queue_log=queue_log,
        agents=AgentDirectory(config.agents),
        zone=config.zone,
        queue_languages=config.queue_languages,
        default_language=config.languages[0] if len(config.languages) == 1 else None,
    )
    return ingest_store(
        store,
        sources,
        min_age_seconds=config.min_age_minutes * 60,
        now=time.time() if now is None else now,
    )
