"""One run at a time per database: a lock row in the database itself, with a heartbeat.

Taking the lock is one ``BEGIN IMMEDIATE`` transaction (SQLite serialises it, so two runs that
start together cannot both win). While a run holds the lock, a background thread refreshes its
heartbeat every ``HEARTBEAT_SECONDS`` on a connection of its own (so a beat never commits half of
the run's own transaction, and a call that takes an hour does not make the lock look dead).
A lock is stale, and taken over with a warning, when

- it was taken on this host and its process is gone (``kill -9``, a reboot), or
- it was taken on another host and its heartbeat is older than ``lock_timeout_minutes``.

The run that held a stale lock is marked ``crashed`` in ``runs``::

    lock = RunLock(db, timeout_minutes=10)
    with lock.hold():                         # RunLockedError if another live run holds it
        lock.attach(run_id)                   # the run this lock is for, once it has an id
        ...
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from qa.sql import utcnow

__all__ = ["HEARTBEAT_SECONDS", "LockHolder", "RunLock", "RunLockedError", "pid_alive"]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0


class RunLockedError(RuntimeError):
    """Another run holds the database; the message says which, and what to do."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) the lock."""

    run_id: int | None
    host: str
    pid: int
    acquired_at: str
    heartbeat_at: str

    def heartbeat_age(self, now: datetime | None = None) -> float:
        """Seconds since the holder's last heartbeat."""
        beat = datetime.fromisoformat(self.heartbeat_at)
        return ((now or datetime.now(UTC)) - beat).total_seconds()

    def describe(self) -> str:
        return (
            f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.acquired_at}, "
            f"last heartbeat {self.heartbeat_at})"
        )


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class RunLock:
    """The run lock of one database (see the module docstring)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        timeout_minutes: float = 10.0,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.db = db
        self.timeout_seconds = timeout_minutes * 60.0
        self.host = host or socket.gethostname()
        self.pid = pid or os.getpid()
        self.held = False
        self._last_beat = 0.0

    def holder(self) -> LockHolder | None:
        """Who holds the lock now, if anyone."""
        row = self.db.execute(
            "select run_id, host, pid, acquired_at, heartbeat_at from run_lock where lock_id = 1"
        ).fetchone()
        return None if row is None else LockHolder(*row)

    def stale_reason(self, holder: LockHolder) -> str | None:
        """Why ``holder``'s lock is stale, or None while it may still be working."""
        if holder.host == self.host:
            if holder.pid == self.pid:
                return "it was taken by this very process earlier"
            if not pid_alive(holder.pid):
                return f"its process {holder.pid} is gone"
            return None
        age = holder.heartbeat_age()
        if age > self.timeout_seconds:
            return (
                f"it was taken on {holder.host} and its heartbeat is {age / 60:.0f} min old "
                f"(lock_timeout_minutes = {self.timeout_seconds / 60:g})"
            )
        return None

    def acquire(self) -> None:
        """Take the lock; raise :class:`RunLockedError` if a live run holds it."""
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            holder = self.holder()
            if holder is not None:
                reason = self.stale_reason(holder)
                if reason is None:
                    raise RunLockedError(
                        f"another run holds this database: {holder.describe()}. Wait for it to "
                        "finish (qa runs --last 1), or stop it; a lock whose process is gone is "
                        "taken over by the next run"
                    )
                log.warning("taking over a stale run lock: %s; %s", holder.describe(), reason)
                if holder.run_id is not None:
                    conn.execute(
                        "update runs set status = 'crashed', finished_at = coalesce(finished_at, "
                        "?) where run_id = ? and status = 'running'",
                        [holder.heartbeat_at, holder.run_id],
                    )
                conn.execute("delete from run_lock where lock_id = 1")
            now = utcnow()
            conn.execute(
                "insert into run_lock (lock_id, run_id, host, pid, acquired_at, heartbeat_at) "
                "values (1, null, ?, ?, ?, ?)",
                [self.host, self.pid, now, now],
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self.held = True
        self._last_beat = time.monotonic()

    def attach(self, run_id: int) -> None:
        """Record which run holds the lock (a stale lock's run is marked crashed)."""
        with self.db.conn:
            self.db.conn.execute(
                "update run_lock set run_id = ? where lock_id = 1 and pid = ? and host = ?",
                [run_id, self.pid, self.host],
            )

    def heartbeat(self, conn: sqlite3.Connection | None = None) -> None:
        """Refresh the heartbeat now (on ``conn``, else the store's own connection)."""
        if not self.held:
            return
        conn = conn or self.db.conn
        try:
            with conn:
                conn.execute(
                    "update run_lock set heartbeat_at = ? where lock_id = 1 and pid = ? "
                    "and host = ?",
                    [utcnow(), self.pid, self.host],
                )
        except sqlite3.OperationalError as error:  # a busy store: the next beat will do
            log.warning("run lock heartbeat failed: %s", error)
        self._last_beat = time.monotonic()

    def _beat_until(self, stop: threading.Event, path: str, interval: float) -> None:
        conn = sqlite3.connect(path, timeout=30)
        try:
            while not stop.wait(interval):
                self.heartbeat(conn)
        finally:
            conn.close()

    def _start_heartbeat(self, interval: float) -> tuple[threading.Event, threading.Thread] | None:
        row = self.db.execute("pragma database_list").fetchone()
        path = row[2] if row else ""
        if not path:  # an in-memory store: no other run can see it anyway
            return None
        stop = threading.Event()
        thread = threading.Thread(
            target=self._beat_until, args=(stop, path, interval), name="run-lock-heartbeat"
        )
        thread.daemon = True
        thread.start()
        return stop, thread

    def release(self) -> None:
        """Give the lock back (only this run's)."""
        if not self.held:
            return
        with self.db.conn:
            self.db.conn.execute(
                "delete from run_lock where lock_id = 1 and pid = ? and host = ?",
                [self.pid, self.host],
            )
        self.held = False

    @contextmanager
    def hold(self, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> Iterator[RunLock]:
        """Hold the lock, with its heartbeat running, for the duration of a ``with`` block."""
        self.acquire()
        beating = self._start_heartbeat(heartbeat_seconds)
        try:
            yield self
        finally:
            if beating is not None:
                stop, thread = beating
                stop.set()
                thread.join(timeout=60)
            self.release()
