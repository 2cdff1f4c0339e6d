"""The configured call-data sources, read only when a run has recordings to attribute.

A nightly re-scan that finds nothing new reads neither the CDR nor queue_log; one that does reads
Master.csv whole (it has no index), or from the CDR database the days the new recordings (and the
rescan window) cover, in one query, plus FreePBX's own recording lookup for what that missed::

    with ConfiguredSources(config) as sources:
        call_sources = sources.load(recordings, since=window_start)
        ended = sources.ended_calls(["1705347015.101"])
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from qa.config import Config, parse_cdr_url
from qa.ingest.agents import AgentDirectory
from qa.ingest.calls import CallSources
from qa.ingest.cdr import CdrIndex
from qa.ingest.cdr_csv import read_master_csv
from qa.ingest.cdr_mysql import CdrDatabase
from qa.ingest.queue_log import read_queue_log
from qa.ingest.spool import RecordingSet

__all__ = ["ConfiguredSources"]

log = logging.getLogger(__name__)

_DAY = 86400


class ConfiguredSources:
    """The CDR (Master.csv or database), queue_log and agent directory a config names."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.zone = config.zone
        self._database: CdrDatabase | None = None
        self.loaded: CallSources | None = None

    def __enter__(self) -> ConfiguredSources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    @property
    def has_cdr(self) -> bool:
        """Whether a CDR source is configured (a recording without a row may then be waited on)."""
        return self.config.cdr_csv is not None or self.config.cdr_url is not None

    @property
    def has_cel(self) -> bool:
        return self.config.cel and self.config.cdr_url is not None

    def unloaded(self) -> CallSources:
        """The sources without CDR or queue_log (nothing new to attribute)."""
        config = self.config
        return CallSources(
            agents=AgentDirectory(config.agents),
            zone=self.zone,
            queue_languages=config.queue_languages,
            default_language=config.languages[0] if len(config.languages) == 1 else None,
        )

    def _connect(self) -> CdrDatabase:
        if self._database is None:
            assert self.config.cdr_url is not None
            url = parse_cdr_url(self.config.cdr_url.get_secret_value())
            self._database = CdrDatabase(url, self.zone, utc=self.config.cdr_utc)
        return self._database

    def load(self, recordings: list[RecordingSet], *, since: date) -> CallSources:
        """Read the CDR and queue_log for these recordings (and CDR rows from ``since``, the
        start of the rescan window, for the missing-recording check).

        Raises :class:`qa.ingest.CdrReadError` or :class:`qa.ingest.QueueLogReadError`.
        """
        config = self.config
        epochs = [e for r in recordings if (e := r.name.epoch) is not None]
        cdr: CdrIndex | None = None
        if config.cdr_csv is not None:
            cdr = read_master_csv(config.cdr_csv, self.zone, utc=config.cdr_utc)
        elif config.cdr_url is not None:
            cdr = self._read_database(recordings, epochs, since)
        queue_log = None
        if config.queue_log is not None:
            oldest = min(epochs, default=None)
            queue_log = read_queue_log(
                config.queue_log, since=None if oldest is None else oldest - _DAY
            )
        base = self.unloaded()
        self.loaded = CallSources(
            cdr=cdr,
            queue_log=queue_log,
            agents=base.agents,
            zone=base.zone,
            queue_languages=base.queue_languages,
            default_language=base.default_language,
        )
        return self.loaded

    def _read_database(
        self, recordings: list[RecordingSet], epochs: list[int], since: date
    ) -> CdrIndex:
        database = self._connect()
        days = [datetime.fromtimestamp(epoch, self.zone).date() for epoch in epochs]
        first = min([*days, since]) - timedelta(days=1)
        last = max(days, default=since) + timedelta(days=2)
        cdr = database.read_window(datetime.combine(first, time()), datetime.combine(last, time()))
        added = database.add_recorded(cdr, (r.uniqueid for r in recordings if r.uniqueid))
        if added:
            log.info("%d CDR rows found outside the window by uniqueid/linkedid", added)
        return cdr

    def ended_calls(self, linkedids: Iterable[str]) -> set[str]:
        """The calls CEL says have ended (``LINKEDID_END``); empty without ``cel``."""
        if not self.has_cel:
            return set()
        return self._connect().ended_calls(linkedids)
