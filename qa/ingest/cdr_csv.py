"""cdr_csv's ``Master.csv``: the PBX's call detail records, read by column position.

Columns (Asterisk cdr_csv.c): accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
lastdata, start, answer, end, duration, billsec, disposition, amaflags, then ``uniqueid`` (if
loguniqueid), ``userfield`` (if loguserfield), then peeraccount, linkedid, sequence (if
newcdrcolumns). Times are the PBX's local time (unless usegmtime), converted to UTC here::

    cdr = read_master_csv(Path("/var/log/asterisk/cdr-csv/Master.csv"), ZoneInfo("Asia/Shanghai"))
    record = cdr.find("1705347015.101")
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

__all__ = ["CdrIndex", "CdrReadError", "CdrRecord", "read_master_csv"]

log = logging.getLogger(__name__)

_BASE_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)  # fmt: skip
_NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
_UNIQUEID = re.compile(r"^(?:[\w.]+-)?\d+\.\d+$")
# Better a call answered and talked than a ring attempt, when one uniqueid has several rows.
_DISPOSITION_RANK = {"ANSWERED": 0, "BUSY": 1, "NO ANSWER": 2, "CANCEL": 3, "CONGESTION": 4}


class CdrReadError(OSError):
    """Master.csv could not be read."""


@dataclass(frozen=True)
class CdrRecord:
    """One Master.csv row. Times are UTC; ``answer`` is None for unanswered calls."""

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


def _layout(width: int, first_extra: str) -> tuple[str, ...] | None:
    """The column names for a row of ``width`` fields; None if no cdr_csv layout has it.

    17 and 20 fields are ambiguous (uniqueid or userfield alone): the value decides.
    """
    one = ("uniqueid",) if _UNIQUEID.match(first_extra) else ("userfield",)
    layouts: dict[int, tuple[str, ...]] = {
        0: (),
        1: one,
        2: ("uniqueid", "userfield"),
        3: _NEW_COLUMNS,
        4: one + _NEW_COLUMNS,
        5: ("uniqueid", "userfield", *_NEW_COLUMNS),
    }
    extra = layouts.get(width - len(_BASE_COLUMNS))
    return None if extra is None else _BASE_COLUMNS + extra


def _local_time(text: str, zone: tzinfo) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _record(values: dict[str, str], zone: tzinfo) -> CdrRecord:
    def optional(key: str) -> str | None:
        value = values.get(key)
        return value if value else None

    return CdrRecord(
        src=values["src"],
        dst=values["dst"],
        dcontext=values["dcontext"],
        clid=values["clid"],
        channel=values["channel"],
        dstchannel=values["dstchannel"],
        lastapp=values["lastapp"],
        lastdata=values["lastdata"],
        start=_local_time(values["start"], zone),
        answer=_local_time(values["answer"], zone),
        end=_local_time(values["end"], zone),
        duration=_number(values["duration"]),
        billsec=_number(values["billsec"]),
        disposition=values["disposition"],
        accountcode=values["accountcode"],
        amaflags=values["amaflags"],
        uniqueid=optional("uniqueid"),
        userfield=optional("userfield"),
        peeraccount=optional("peeraccount"),
        linkedid=optional("linkedid"),
        sequence=optional("sequence"),
    )


def _preference(record: CdrRecord) -> tuple[int, float]:
    return (_DISPOSITION_RANK.get(record.disposition.upper(), 9), -(record.billsec or 0.0))


class CdrIndex:
    """The rows of one or more Master.csv files, looked up by uniqueid, linkedid or start time."""

    def __init__(self, records: list[CdrRecord]) -> None:
        self.records = records
        self._by_id: dict[str, list[CdrRecord]] = defaultdict(list)
        self._by_start: dict[datetime, list[CdrRecord]] = defaultdict(list)
        for record in records:
            if record.uniqueid:
                self._by_id[record.uniqueid].append(record)
            if record.linkedid and record.linkedid != record.uniqueid:
                self._by_id[record.linkedid].append(record)
            if record.start is not None:
                self._by_start[record.start].append(record)

    def __len__(self) -> int:
        return len(self.records)

    def find(
        self,
        uniqueid: str,
        *,
        start: datetime | None = None,
        numbers: tuple[str | None, ...] = (),
    ) -> CdrRecord | None:
        """The best row for a call: by uniqueid (or linkedid); failing that, a row starting at
        ``start`` (UTC) whose src or dst is one of ``numbers`` (for files without uniqueid).
        Among several rows, the answered one with the longest billsec wins."""
        rows = self._by_id.get(uniqueid, [])
        if not rows and start is not None:
            wanted = {number for number in numbers if number}
            rows = [r for r in self._by_start.get(start, []) if {r.src, r.dst} & wanted]
        return min(rows, key=_preference) if rows else None


def read_master_csv(path: Path, zone: tzinfo) -> CdrIndex:
    """Read a cdr_csv Master.csv. Rows whose width fits no cdr_csv layout are logged and left out.

    Raises :class:`CdrReadError` when the file cannot be read.
    """
    records: list[CdrRecord] = []
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            for line_number, row in enumerate(csv.reader(handle), start=1):
                if not row:
                    continue
                first_extra = row[len(_BASE_COLUMNS)] if len(row) > len(_BASE_COLUMNS) else ""
                columns = _layout(len(row), first_extra)
                if columns is None:
                    log.warning(
                        "%s:%d: %d columns fit no cdr_csv layout; row left out",
                        path,
                        line_number,
                        len(row),
                    )
                    continue
                records.append(_record(dict(zip(columns, row, strict=True)), zone))
    except OSError as error:
        raise CdrReadError(
            f"{path}: cannot read the CDR file ({error.strerror}); check the path and that this "
            "user may read it"
        ) from None
    log.info("read %d CDR rows from %s", len(records), path)
    return CdrIndex(records)
