"""cdr_csv's ``Master.csv``: the PBX's call detail records, read by column position.

Columns (Asterisk cdr_csv.c): accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
lastdata, start, answer, end, duration, billsec, disposition, amaflags, then ``uniqueid`` (if
loguniqueid), ``userfield`` (if loguserfield), then peeraccount, linkedid, sequence (if
newcdrcolumns). Times are the PBX's local time unless ``usegmtime`` is on (``utc=True``); they are
stored in UTC, with the local wall clock kept for matching recording names. The layout is told
from each row's width (and, for the ambiguous widths, from the value)::

    cdr = read_master_csv(Path("/var/log/asterisk/cdr-csv/Master.csv"), ZoneInfo("Asia/Shanghai"))
    record = cdr.find("1705347015.101")
"""

from __future__ import annotations

import csv
import logging
import re
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from qa.ingest.cdr import (
    CdrIndex,
    CdrReadError,
    CdrRecord,
    check_time_basis,
    local_to_utc,
    uniqueid_epoch,
)

__all__ = ["CdrIndex", "CdrReadError", "CdrRecord", "read_master_csv"]

log = logging.getLogger(__name__)

_BASE_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)  # fmt: skip
_NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
_UNIQUEID = re.compile(r"^(?:[\w.-]+-)?\d+\.\d+$")


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


def _naive(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class _Clock:
    """Turns the CDR's naive times into UTC and PBX wall-clock time."""

    def __init__(self, zone: tzinfo, utc: bool) -> None:
        self.zone, self.utc = zone, utc

    def to_utc(self, naive: datetime | None, hint_epoch: int | None) -> datetime | None:
        if naive is None:
            return None
        if self.utc:
            return naive.replace(tzinfo=UTC)
        return local_to_utc(naive, self.zone, hint_epoch)

    def local(self, naive: datetime | None) -> datetime | None:
        if naive is None or not self.utc:
            return naive
        return naive.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)


def _record(values: dict[str, str], clock: _Clock) -> CdrRecord:
    def optional(key: str) -> str | None:
        value = values.get(key)
        return value if value else None

    uniqueid = optional("uniqueid")
    epoch = uniqueid_epoch(uniqueid)
    start = _naive(values["start"])
    return CdrRecord(
        src=values["src"],
        dst=values["dst"],
        dcontext=values["dcontext"],
        clid=values["clid"],
        channel=values["channel"],
        dstchannel=values["dstchannel"],
        lastapp=values["lastapp"],
        lastdata=values["lastdata"],
        start=clock.to_utc(start, epoch),
        answer=clock.to_utc(_naive(values["answer"]), epoch),
        end=clock.to_utc(_naive(values["end"]), epoch),
        duration=_number(values["duration"]),
        billsec=_number(values["billsec"]),
        disposition=values["disposition"],
        accountcode=values["accountcode"],
        amaflags=values["amaflags"],
        uniqueid=uniqueid,
        userfield=optional("userfield"),
        peeraccount=optional("peeraccount"),
        linkedid=optional("linkedid"),
        sequence=optional("sequence"),
        local_start=clock.local(start),
    )


def read_master_csv(path: Path, zone: tzinfo, *, utc: bool = False) -> CdrIndex:
    """Read a cdr_csv Master.csv; its times are local in ``zone`` unless ``utc`` (usegmtime).
    Rows whose width fits no cdr_csv layout are logged and left out.

    Raises :class:`CdrReadError` when the file cannot be read.
    """
    clock = _Clock(zone, utc)
    records: list[CdrRecord] = []
    rejected: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            # A NUL byte (a crash mid-write) stops Python's csv reader: read past it.
            reader = csv.reader(line.replace("\0", "") for line in handle)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    rejected.append(f"line {reader.line_num}: {error}")
                    continue
                if not row:
                    continue
                first_extra = row[len(_BASE_COLUMNS)] if len(row) > len(_BASE_COLUMNS) else ""
                columns = _layout(len(row), first_extra)
                if columns is None:
                    rejected.append(
                        f"line {reader.line_num}: {len(row)} columns fit no cdr_csv layout"
                    )
                    continue
                records.append(_record(dict(zip(columns, row, strict=True)), clock))
    except OSError as error:
        raise CdrReadError(
            f"{path}: cannot read the CDR file ({error.strerror}); check the path and that this "
            "user may read it"
        ) from None
    log.info("read %d CDR rows from %s", len(records), path)
    index = CdrIndex(records, source=str(path))
    index.rejected = rejected
    for problem in rejected:
        log.warning("%s: %s; row left out", path, problem)
    check_time_basis(index, utc=utc, zone=zone)
    return index
