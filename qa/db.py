"""The SQLite store: one file, WAL mode, its schema applied by named migrations
(:mod:`qa.migrations`), in order, each recorded.

Usage::

    db = open_db("var/qa.db")      # creates the file and applies pending migrations

What queries share (``table``, ``Filters``, ``inserted_id``, ``utcnow``) is in :mod:`qa.sql`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import sqlite_utils

from qa.migrations import MIGRATIONS
from qa.sql import table, utcnow

logger = logging.getLogger(__name__)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    if "_migrations" not in db.table_names():
        table(db, "_migrations").create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table(db, "_migrations").rows}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        with db.conn:
            migration(db)
            table(db, "_migrations").insert({"name": name, "applied_at": utcnow()})
        logger.info("applied migration %s", name)
        applied.append(name)
    return applied


class StoreError(Exception):
    """The store cannot be opened or written; the message names the file and the fix."""


def _store_problem(path: Path, error: Exception) -> StoreError:
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path} is not a readable qa database ({text}): it is corrupt or another kind of "
            "file; restore it from a backup (or point --db at a new file to start afresh)"
        )
    if "readonly" in text or "read-only" in text or isinstance(error, PermissionError):
        return StoreError(
            f"{path} cannot be written ({text}): give this user write access to the file and "
            "its folder (SQLite writes -wal and -shm files beside it)"
        )
    return StoreError(f"{path}: the database cannot be used ({text}); check the disk and path")


def _open_read_only(path: Path) -> sqlite_utils.Database:
    """A store this user may read but not write: opened read-only (reports and listings work;
    anything that writes gets :class:`StoreError` from :func:`require_writable`)."""
    for mode in ("mode=ro", "immutable=1"):  # immutable: a WAL store in a folder we cannot write
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=30, check_same_thread=False
            )
            db = sqlite_utils.Database(conn)
            done = {row[0] for row in db.execute("select name from _migrations")}
            break
        except sqlite3.DatabaseError as error:
            last = error
    else:
        raise _store_problem(path, last) from last
    missing = [name for name, _ in MIGRATIONS if name not in done]
    if missing:
        raise StoreError(
            f"{path} is read-only for this user and needs migration {missing[0]}: open it once "
            "as a user who may write it (e.g. run qa runs as its owner)"
        )
    db.execute("PRAGMA foreign_keys = ON")
    return db


def require_writable(db: sqlite_utils.Database, path: Path) -> None:
    """Raise :class:`StoreError` when ``db`` was opened read-only (see :func:`open_db`)."""
    if db.execute("PRAGMA query_only").fetchone()[0] or not os.access(path, os.W_OK):
        raise StoreError(
            f"{path} cannot be written by this user: give it (and its folder) write access"
        )


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600: it holds callers' numbers) the store at ``path``, in
    WAL mode, fully migrated. A store this user may only read is opened read-only.

    Raises :class:`StoreError` (naming the file and the fix) for a corrupt or unusable store.
    """
    path = Path(path)
    if path.exists() and not os.access(path, os.W_OK):
        return _open_read_only(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except (sqlite3.DatabaseError, OSError) as error:
        raise _store_problem(path, error) from error
    return db


def memory_db() -> sqlite_utils.Database:
    """A migrated in-memory store, for tests."""
    db = sqlite_utils.Database(memory=True)
    migrate(db)
    return db
