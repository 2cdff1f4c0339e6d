"""The ingest ledger: what ingest has seen in a store, kept in the results database (migration
``005_ingest_ledger``) so that a nightly run examines only what is new or changed and never
takes a recording twice.

- ``ingest_files``: every file examined, with its size and mtime when examined and what was
  decided (take, defer, skip, fail). A file seen again unchanged after ``take`` or ``skip`` is
  not opened again; after ``defer`` or ``fail`` it is examined again on every run.
- ``ingest_keys``: each recording's identity — ``name:<stem>`` (the file name without folder,
  leg and extension, which carries the uniqueid), and ``sha256:<hex>`` of the content for files
  whose name has no uniqueid — mapped to the call it became (null: never answered). A recording
  that turns up again (converted to mp3, copied to another folder) is never a second call.
- ``ingest_calls``: the calls taken, as ingest built them, so a later run returns them without
  reading their files again.
- ``ingest_folders``: each walked folder's mtime: an old day folder that has not changed is not
  walked again.

::

    ledger = Ledger.open(Path("qa.db"), store, write=True)
    ledger.file("2024/01/15/q-600-...wav")      # FileRecord or None
    ledger.save(scan)                           # one transaction
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from calldata import Call
from qa.db import open_db
from qa.ingest.paths import from_db, safe_text, shown, to_db
from qa.sql import utcnow

__all__ = ["Action", "FileDecision", "FileRecord", "Ledger", "LedgerUpdate", "TakenCall"]

log = logging.getLogger(__name__)

_TABLES = ("ingest_files", "ingest_keys", "ingest_calls", "ingest_folders", "ingest_scans")


class Action(StrEnum):
    """What ingest does with a file this run."""

    TAKE = "take"  # part of a call handed to the pipeline
    DEFER = "defer"  # not finished (still recording, no CDR row or call end yet): a later run
    SKIP = "skip"  # nothing to do: unanswered, a duplicate, already taken, not a recording
    FAIL = "fail"  # needs a person: unreadable, broken, missing


SETTLED = frozenset({Action.TAKE, Action.SKIP})


@dataclass(frozen=True)
class FileDecision:
    """What ingest decided about one file (or one missing recording a CDR row names), and the
    call it is attributed to. ``start`` is UTC."""

    path: str
    action: Action
    reason: str = ""
    call_id: str | None = None
    uniqueid: str | None = None
    agent: str | None = None
    queue: str | None = None
    start: datetime | None = None
    size: int | None = None  # as examined; None for a file that is not there
    mtime_ns: int | None = None

    def to_json(self) -> dict[str, object]:
        """The ``qa ingest --dry-run --json`` object."""
        return {
            "path": shown(self.path),
            "action": self.action.value,
            "reason": safe_text(self.reason),
            "call_id": self.call_id,
            "agent": self.agent,
            "queue": self.queue,
            "start": self.start.isoformat() if self.start else None,
        }


@dataclass(frozen=True)
class FileRecord:
    """A file as the ledger last saw it."""

    path: str
    size: int
    mtime_ns: int
    action: Action
    reason: str
    call_id: str | None


@dataclass(frozen=True)
class TakenCall:
    """A call taken in this run, with its recording's uniqueid and identities."""

    call: Call
    uniqueid: str | None
    keys: tuple[str, ...]


@dataclass
class LedgerUpdate:
    """What one run adds to the ledger."""

    decisions: list[FileDecision] = field(default_factory=list)
    calls: list[TakenCall] = field(default_factory=list)
    unanswered_keys: list[str] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)  # files the ledger had that are not there
    started_at: str = ""
    seconds: float = 0.0
    known: int = 0


def _call_json(call: Call) -> str:
    """A call as JSON that keeps its recordings' paths exactly: Python's JSON writes a byte that
    is not UTF-8 (a lone surrogate, see qa.ingest.paths) as ``\\udcXX`` and reads it back, where
    pydantic's JSON refuses it."""
    return json.dumps(call.model_dump(mode="json"))


def _call_from_json(text: str) -> Call:
    return Call.model_validate(json.loads(text))


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


class Ledger:
    """The ledger of one store, read into memory when opened."""

    def __init__(self, store_root: str, conn: sqlite3.Connection | None = None) -> None:
        self.store_root = store_root
        self._conn = conn
        self._files: dict[str, FileRecord] = {}
        self._folders: dict[str, int] = {}
        self._keys: dict[str, str | None] = {}
        self._calls: dict[str, str] = {}  # call_id → call_json
        self._by_uniqueid: dict[str, list[str]] = defaultdict(list)
        if conn is not None:
            self._load(conn)

    @classmethod
    def open(cls, db_path: Path | None, store: Path, *, write: bool) -> Ledger:
        """The ledger in the results database at ``db_path`` (None: an empty one that is never
        saved). With ``write`` the database is created and migrated if needed; without, it is
        opened read-only and a missing database or ledger reads as empty."""
        root = str(store.resolve())
        if db_path is None:
            return cls(root)
        if write:
            return cls(root, open_db(db_path).conn)
        if not db_path.exists():
            return cls(root)
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        tables = {row[0] for row in conn.execute("select name from sqlite_master")}
        if not set(_TABLES) <= tables:
            conn.close()
            return cls(root)
        ledger = cls(root, conn)
        conn.close()
        ledger._conn = None  # read-only: never saved
        return ledger

    def _load(self, conn: sqlite3.Connection) -> None:
        root = [self.store_root]
        for path, size, mtime_ns, action, reason, call_id in conn.execute(
            "select path, size, mtime_ns, action, reason, call_id from ingest_files "
            "where store_root = ?",
            root,
        ):
            path = from_db(path)
            self._files[path] = FileRecord(path, size, mtime_ns, Action(action), reason, call_id)
        self._folders = {
            from_db(path): mtime_ns
            for path, mtime_ns in conn.execute(
                "select path, mtime_ns from ingest_folders where store_root = ?", root
            )
        }
        self._keys = dict(
            conn.execute("select key, call_id from ingest_keys where store_root = ?", root)
        )
        for call_id, uniqueid, call_json in conn.execute(
            "select call_id, uniqueid, call_json from ingest_calls where store_root = ?", root
        ):
            self._calls[call_id] = call_json  # _call_json: the paths as they are on disk
            if uniqueid:
                self._by_uniqueid[uniqueid].append(call_id)

    @property
    def writable(self) -> bool:
        return self._conn is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- what the ledger knows ---------------------------------------------------------------

    def file(self, path: str) -> FileRecord | None:
        return self._files.get(path)

    def folder_mtime(self, folder: str) -> int | None:
        return self._folders.get(folder)

    def count_under(self, folders: list[str]) -> int:
        """How many files the ledger has under these folders."""
        if not folders:
            return 0
        prefixes = tuple(folder + "/" for folder in folders)
        return sum(1 for path in self._files if path.startswith(prefixes))

    def paths_in(self, folders: set[str]) -> list[str]:
        """The ledger's files directly in these folders."""
        return [path for path in self._files if _folder(path) in folders]

    def unsettled_folders(self) -> set[str]:
        """Folders (and their parents) holding a file that was deferred or failed."""
        folders: set[str] = set()
        for record in self._files.values():
            if record.action not in SETTLED:
                folder = _folder(record.path)
                while folder:
                    folders.add(folder)
                    folder = _folder(folder)
        return folders

    def key(self, key: str) -> tuple[bool, str | None]:
        """(known, call id): whether a recording identity was seen, and the call it became
        (None for a recording of a call never answered)."""
        return (key in self._keys, self._keys.get(key))

    def has_call(self, call_id: str) -> bool:
        return call_id in self._calls

    def calls_of(self, uniqueid: str) -> list[str]:
        """The call ids taken with this uniqueid."""
        return list(self._by_uniqueid.get(uniqueid, ()))

    def call(self, call_id: str) -> Call:
        return _call_from_json(self._calls[call_id])

    def calls(self) -> list[Call]:
        """Every call taken from this store by earlier runs."""
        return [_call_from_json(text) for text in self._calls.values()]

    def known_stems(self) -> set[str]:
        """The recording stems whose identity the ledger holds."""
        return {key[5:] for key in self._keys if key.startswith("name:")}

    # --- recording a run -----------------------------------------------------------------------

    def save(self, update: LedgerUpdate) -> None:
        """Record one run, in one transaction. Does nothing for a read-only or database-less
        ledger."""
        conn = self._conn
        if conn is None:
            return
        root, now = self.store_root, utcnow()
        counts: dict[Action, int] = defaultdict(int)
        for decision in update.decisions:
            counts[decision.action] += 1
        present = [d for d in update.decisions if d.size is not None]
        with conn:
            conn.executemany(
                "delete from ingest_files where store_root = ? and path = ?",
                [(root, to_db(path)) for path in update.gone],
            )
            conn.executemany(
                "insert or replace into ingest_files (store_root, path, size, mtime_ns, action, "
                "reason, call_id, seen_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        root,
                        to_db(d.path),
                        d.size,
                        d.mtime_ns,
                        d.action.value,
                        safe_text(d.reason),
                        d.call_id,
                        now,
                    )
                    for d in present
                ],
            )
            conn.executemany(
                "insert or ignore into ingest_keys (store_root, key, call_id) values (?, ?, ?)",
                [(root, key, taken.call.call_id) for taken in update.calls for key in taken.keys]
                + [(root, key, None) for key in update.unanswered_keys],
            )
            conn.executemany(
                "insert or ignore into ingest_calls (store_root, call_id, uniqueid, start, "
                "call_json, taken_at) values (?, ?, ?, ?, ?, ?)",
                [
                    (
                        root,
                        taken.call.call_id,
                        taken.uniqueid,
                        taken.call.start.isoformat(),
                        _call_json(taken.call),
                        now,
                    )
                    for taken in update.calls
                ],
            )
            conn.executemany(
                "insert or replace into ingest_folders (store_root, path, mtime_ns) "
                "values (?, ?, ?)",
                [(root, to_db(path), mtime) for path, mtime in update.folders.items()],
            )
            conn.execute(
                "insert into ingest_scans (store_root, started_at, seconds, examined, known, "
                "taken, deferred, skipped, failed) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    root,
                    update.started_at or now,
                    update.seconds,
                    len(update.decisions),
                    update.known,
                    counts[Action.TAKE],
                    counts[Action.DEFER],
                    counts[Action.SKIP],
                    counts[Action.FAIL],
                ],
            )
        log.info(
            "ledger: %d files, %d new calls recorded for %s",
            len(present),
            len(update.calls),
            root,
        )
