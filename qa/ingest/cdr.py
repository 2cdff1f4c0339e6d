"""Call detail records, whichever source they come from (cdr_csv ``Master.csv`` or FreePBX's
``asteriskcdrdb.cdr``), and the index that ties them to recordings.

A call may have several rows (queue ring attempts, transfers) tied by ``linkedid``. A recording is
tied to its row the way FreePBX does it — ``recordingfile <> '' AND (uniqueid = ? OR linkedid =
?)`` — preferring the row whose ``recordingfile`` names this very recording (by stem: the CDR may
say ``.wav`` while the disk has the ``.mp3`` a post-processing script made). Rows without a
uniqueid (Master.csv without ``loguniqueid``) are found by the local start time in the file name
and a phone number::

    cdr = CdrIndex(records)
    row = cdr.find("1705347015.101", stem="q-600-5551234567-20240115-143015-1705347015.101")
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = [
    "CdrIndex",
    "CdrReadError",
    "CdrRecord",
    "check_time_basis",
    "local_to_utc",
    "recording_stem",
    "uniqueid_epoch",
]

log = logging.getLogger(__name__)

# Better a call answered and talked than a ring attempt, when one call has several rows.
_DISPOSITION_RANK = {"ANSWERED": 0, "BUSY": 1, "NO ANSWER": 2, "CANCEL": 3, "CONGESTION": 4}
_EPOCH = re.compile(r"(?:^|-)(\d{9,11})\.\d+$")
_LEG = re.compile(r"-(?:r|t|in|out)$")


class CdrReadError(OSError):
    """A CDR source (Master.csv or the CDR database) could not be read."""


@dataclass(frozen=True)
class CdrRecord:
    """One CDR row. ``start``/``answer``/``end`` are UTC; ``local_start`` is the PBX's wall clock
    (naive), as recording names have it. ``answer`` is None for unanswered calls."""

    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: datetime | None
    answer: datetime | None
    end: datetime | None
    duration: float | None
    billsec: float | None
    disposition: str
    accountcode: str = ""
    amaflags: str = ""
    uniqueid: str | None = None
    userfield: str | None = None
    peeraccount: str | None = None
    linkedid: str | None = None
    sequence: str | None = None
    local_start: datetime | None = None
    did: str | None = None
    recordingfile: str | None = None  # FreePBX: a base name; Elastix/Issabel: an absolute path
    cnum: str | None = None
    cnam: str | None = None

    @property
    def call_key(self) -> str | None:
        """What ties the rows of one call together: the linkedid, else the uniqueid."""
        return self.linkedid or self.uniqueid

    @property
    def answered(self) -> bool:
        return self.disposition.upper() == "ANSWERED" and (self.billsec or 0) > 0


def uniqueid_epoch(uniqueid: str | None) -> int | None:
    """The epoch seconds in ``<epoch>.<seq>`` or ``<systemname>-<epoch>.<seq>``."""
    match = _EPOCH.search(uniqueid or "")
    return int(match[1]) if match else None


def recording_stem(recordingfile: str) -> str:
    """A CDR ``recordingfile`` reduced to what identifies the recording on disk: the base name
    without the extension and without a leg suffix."""
    base = recordingfile.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    return _LEG.sub("", stem if dot else base)


# (zone, the hour) → the UTC offsets of fold 0 and fold 1, when they hold for the whole hour.
_OFFSETS: dict[tuple[tzinfo, datetime], tuple[timedelta, timedelta] | None] = {}


def _hour_offsets(naive: datetime, zone: tzinfo) -> tuple[timedelta, timedelta] | None:
    hour = naive.replace(minute=0, second=0, microsecond=0)
    key = (zone, hour)
    if key not in _OFFSETS:
        last = hour + timedelta(minutes=59, seconds=59)
        steady: list[timedelta] = []
        for fold in (0, 1):
            start = hour.replace(tzinfo=zone, fold=fold).utcoffset()
            end = last.replace(tzinfo=zone, fold=fold).utcoffset()
            if start is not None and start == end:
                steady.append(start)
        _OFFSETS[key] = (steady[0], steady[1]) if len(steady) == 2 else None
    return _OFFSETS[key]


def local_to_utc(naive: datetime, zone: tzinfo, hint_epoch: int | None = None) -> datetime:
    """A PBX wall-clock time in UTC. In the hour that repeats when daylight saving ends, the
    ``hint_epoch`` (a uniqueid's) decides which of the two instants it was."""
    offsets = _hour_offsets(naive, zone)  # a Master.csv has three times a row: cache per hour
    if offsets is not None:
        first = (naive - offsets[0]).replace(tzinfo=UTC)
        second = (naive - offsets[1]).replace(tzinfo=UTC)
    else:
        first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if hint_epoch is None or first == second:
        return first
    hint = datetime.fromtimestamp(hint_epoch, UTC)
    return min((first, second), key=lambda instant: abs(instant - hint))


def _preference(record: CdrRecord) -> tuple[int, float]:
    return (_DISPOSITION_RANK.get(record.disposition.upper(), 9), -(record.billsec or 0.0))


class CdrIndex:
    """CDR rows looked up by recording stem, uniqueid, linkedid, or local start time."""

    def __init__(self, records: Iterable[CdrRecord], *, source: str = "CDR") -> None:
        self.records = list(records)
        self.source = source
        # Lines of the source left out, each "line N: why" (a corrupt Master.csv row).
        self.rejected: list[str] = []
        self._by_id: dict[str, list[CdrRecord]] = defaultdict(list)
        self._by_stem: dict[str, list[CdrRecord]] = defaultdict(list)
        self._by_local_start: dict[datetime, list[CdrRecord]] = defaultdict(list)
        self._by_call: dict[str, list[CdrRecord]] = defaultdict(list)
        for record in self.records:
            self._index(record)

    def add(self, record: CdrRecord) -> None:
        """Index one more row (rows fetched later for recordings the first window missed)."""
        self.records.append(record)
        self._index(record)

    def _index(self, record: CdrRecord) -> None:
        if record.uniqueid:
            self._by_id[record.uniqueid].append(record)
        if record.linkedid and record.linkedid != record.uniqueid:
            self._by_id[record.linkedid].append(record)
        if record.recordingfile:
            self._by_stem[recording_stem(record.recordingfile)].append(record)
        if record.local_start is not None:
            self._by_local_start[record.local_start].append(record)
        if record.call_key:
            self._by_call[record.call_key].append(record)

    def __len__(self) -> int:
        return len(self.records)

    def has_id(self, uniqueid: str) -> bool:
        """Whether any row has this uniqueid or linkedid."""
        return uniqueid in self._by_id

    def find(
        self,
        uniqueid: str | None,
        *,
        stem: str | None = None,
        local_start: datetime | None = None,
        numbers: tuple[str | None, ...] = (),
    ) -> CdrRecord | None:
        """The row for a recording: the one whose ``recordingfile`` names it (by ``stem``); else,
        as FreePBX does, a row with a recordingfile whose uniqueid or linkedid is ``uniqueid``;
        else any row with that uniqueid or linkedid; else (files without uniqueid) a row that
        started at ``local_start`` (PBX wall clock) with src or dst among ``numbers``. Among
        several rows, the answered one with the longest billsec wins."""
        rows = self._by_stem.get(stem, []) if stem else []
        if not rows and uniqueid:
            rows = self._by_id.get(uniqueid, [])
            recorded = [row for row in rows if row.recordingfile]
            rows = recorded or rows
        if not rows and local_start is not None:
            wanted = {number for number in numbers if number}
            rows = [
                row
                for row in self._by_local_start.get(local_start, [])
                if {row.src, row.dst, row.cnum} & wanted
            ]
        return min(rows, key=_preference) if rows else None

    def call_rows(self, record: CdrRecord) -> list[CdrRecord]:
        """Every row of the call ``record`` belongs to (tied by linkedid)."""
        key = record.call_key
        return list(self._by_call.get(key, [record])) if key else [record]

    def recorded(self) -> list[CdrRecord]:
        """Rows that name a recording file."""
        return [record for record in self.records if record.recordingfile]


def check_time_basis(index: CdrIndex, *, utc: bool, zone: tzinfo) -> None:
    """Warn when the CDR's times disagree with the uniqueid epochs by about the zone offset: the
    configuration says local time when the PBX writes UTC (or the other way round)."""
    gaps = [
        (record.start - datetime.fromtimestamp(epoch, UTC)).total_seconds()
        for record in index.records[:5000]
        if record.start is not None and (epoch := uniqueid_epoch(record.uniqueid)) is not None
    ]
    if len(gaps) < 3:
        return
    gap = statistics.median(gaps)
    if abs(gap) >= 1800:
        setting = "cdr_utc = false" if utc else "cdr_utc = true"
        log.warning(
            "%s: CDR start times are %s off the uniqueid epochs (time zone %s): the CDR times "
            "are probably %s; set %s",
            index.source,
            timedelta(seconds=round(gap)),
            zone,
            "local" if utc else "UTC",
            setting,
        )
