"""FreePBX's CDR database (``asteriskcdrdb`` on MySQL/MariaDB): the ``cdr`` table, and ``cel`` for
proof that a call has ended.

The ``cdr`` table has no primary key and its column order differs between installs, so columns
are selected by name. ``calldate`` is the PBX's local time unless ``CDRUSEGMT`` is set
(``utc=True``); ``end = calldate + duration`` and ``answer = end - billsec``. Rows are read once
per run for the days being ingested; recordings the window misses are looked up with FreePBX's
own query, ``recordingfile <> '' AND (uniqueid = ? OR linkedid = ?)``. The URL is parsed by
:func:`qa.config.parse_cdr_url` (loading a config checks it)::

    url = parse_cdr_url("mysql://qa:secret@pbx.example.com:3306/asteriskcdrdb")
    with CdrDatabase(url, ZoneInfo("America/New_York")) as database:
        cdr = database.read_window(datetime(2024, 1, 14), datetime(2024, 1, 16))
        ended = database.ended_calls(["1705347015.101"])      # CEL LINKEDID_END seen

The password may be left out of the URL and given in ``CALLQA_CDR_PASSWORD`` instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pymysql

from qa.config import PASSWORD_VARIABLE, CdrDatabaseUrl
from qa.ingest.cdr import (
    CdrIndex,
    CdrReadError,
    CdrRecord,
    check_time_basis,
    local_to_utc,
    uniqueid_epoch,
)

__all__ = ["CdrDatabase"]

log = logging.getLogger(__name__)

# Every cdr column ingest uses; an install that lacks some still works with the rest.
_COLUMNS = (
    "calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
    "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield",
    "did", "recordingfile", "cnum", "cnam", "linkedid", "peeraccount", "sequence",
)  # fmt: skip
_REQUIRED = ("calldate", "uniqueid", "disposition")
_BATCH = 500


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class CdrDatabase:
    """One connection to the CDR database for one ingest run (a context manager)."""

    def __init__(self, url: CdrDatabaseUrl, zone: tzinfo, *, utc: bool = False) -> None:
        self.url, self.zone, self.utc = url, zone, utc
        try:
            self._conn = pymysql.connect(
                host=url.host,
                port=url.port,
                user=url.user,
                password=url.password,
                database=url.database,
                unix_socket=url.socket,
                charset="utf8mb4",
                connect_timeout=15,
                read_timeout=300,
            )
        except pymysql.MySQLError as error:
            raise CdrReadError(
                f"{url.redacted()}: cannot connect to the CDR database ({error.args[-1]}); check "
                f"cdr_url (host, port, user, database) and the password ({PASSWORD_VARIABLE} "
                "if it is not in the URL), and that the user may SELECT from cdr"
            ) from None
        try:
            self._columns = self._table_columns("cdr")
        except CdrReadError:
            self.close()
            raise
        missing = [name for name in _REQUIRED if name not in self._columns]
        if missing:
            self.close()
            raise CdrReadError(
                f"{url.redacted()}: table cdr has no column(s) {missing}; is this FreePBX's "
                "asteriskcdrdb?"
            )

    def __enter__(self) -> CdrDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(pymysql.MySQLError):  # already gone: nothing left to release
            self._conn.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        except pymysql.MySQLError as error:
            raise CdrReadError(
                f"{self.url.redacted()}: query failed ({error.args[-1]}); check that the user "
                "may SELECT from the cdr (and cel) tables"
            ) from None

    def _table_columns(self, table: str) -> list[str]:
        with self._conn.cursor() as cursor:
            try:
                cursor.execute(f"SELECT * FROM `{table}` LIMIT 0")
            except pymysql.MySQLError as error:
                raise CdrReadError(
                    f"{self.url.redacted()}: cannot read table {table} ({error.args[-1]})"
                ) from None
            return [column[0].lower() for column in cursor.description or ()]

    def _select(self) -> tuple[str, list[str]]:
        names = [name for name in _COLUMNS if name in self._columns]
        return "SELECT " + ", ".join(f"`{name}`" for name in names) + " FROM `cdr`", names

    def _record(self, values: dict[str, Any]) -> CdrRecord:
        calldate = values.get("calldate")
        naive = calldate if isinstance(calldate, datetime) else None
        uniqueid = _text(values.get("uniqueid")) or None
        duration, billsec = _float(values.get("duration")), _float(values.get("billsec"))
        if naive is None:
            start = local = None
        elif self.utc:
            start = naive.replace(tzinfo=UTC)
            local = start.astimezone(self.zone).replace(tzinfo=None)
        else:
            start, local = local_to_utc(naive, self.zone, uniqueid_epoch(uniqueid)), naive
        end = start + timedelta(seconds=duration) if start and duration is not None else None
        answer = end - timedelta(seconds=billsec) if end and billsec else None

        def text(name: str) -> str:
            return _text(values.get(name))

        return CdrRecord(
            src=text("src"),
            dst=text("dst"),
            dcontext=text("dcontext"),
            clid=text("clid"),
            channel=text("channel"),
            dstchannel=text("dstchannel"),
            lastapp=text("lastapp"),
            lastdata=text("lastdata"),
            start=start,
            answer=answer,
            end=end,
            duration=duration,
            billsec=billsec,
            disposition=text("disposition"),
            accountcode=text("accountcode"),
            amaflags=text("amaflags"),
            uniqueid=uniqueid,
            userfield=text("userfield") or None,
            peeraccount=text("peeraccount") or None,
            linkedid=text("linkedid") or None,
            sequence=text("sequence") or None,
            local_start=local,
            did=text("did") or None,
            recordingfile=text("recordingfile") or None,
            cnum=text("cnum") or None,
            cnam=text("cnam") or None,
        )

    def _naive_bound(self, local: datetime) -> datetime:
        if not self.utc:
            return local
        return local.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

    def read_window(self, since: datetime, until: datetime) -> CdrIndex:
        """The rows whose calldate falls in [``since``, ``until``) (PBX local wall clock)."""
        select, names = self._select()
        rows = self._query(
            select + " WHERE `calldate` >= %s AND `calldate` < %s",
            (self._naive_bound(since), self._naive_bound(until)),
        )
        index = CdrIndex(
            (self._record(dict(zip(names, row, strict=True))) for row in rows),
            source=self.url.redacted(),
        )
        log.info("read %d CDR rows from %s (%s to %s)", len(index), index.source, since, until)
        check_time_basis(index, utc=self.utc, zone=self.zone)
        return index

    def add_recorded(self, index: CdrIndex, uniqueids: Iterable[str]) -> int:
        """Add to ``index`` the rows FreePBX would find for recordings of these uniqueids
        (``recordingfile <> '' AND (uniqueid = ? OR linkedid = ?)``) that it lacks."""
        select, names = self._select()
        wanted = sorted({uid for uid in uniqueids if not index.has_id(uid)})
        added = 0
        for offset in range(0, len(wanted), _BATCH):
            chunk = wanted[offset : offset + _BATCH]
            marks = ", ".join(["%s"] * len(chunk))
            where = f" WHERE `recordingfile` <> '' AND (`uniqueid` IN ({marks})"
            if "linkedid" in self._columns:
                where += f" OR `linkedid` IN ({marks})"
                chunk = chunk + chunk
            for row in self._query(select + where + ")", chunk):
                index.add(self._record(dict(zip(names, row, strict=True))))
                added += 1
        return added

    def ended_calls(self, linkedids: Iterable[str]) -> set[str]:
        """Which of these calls have a CEL ``LINKEDID_END`` event: the whole call is over."""
        wanted = sorted(set(linkedids))
        ended: set[str] = set()
        for offset in range(0, len(wanted), _BATCH):
            chunk = wanted[offset : offset + _BATCH]
            marks = ", ".join(["%s"] * len(chunk))
            rows = self._query(
                "SELECT DISTINCT `linkedid` FROM `cel` WHERE `eventtype` = 'LINKEDID_END' "
                f"AND `linkedid` IN ({marks})",
                chunk,
            )
            ended.update(_text(row[0]) for row in rows)
        return ended
