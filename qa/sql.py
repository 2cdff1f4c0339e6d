"""What the store's queries share, in every area: the store's tables typed as tables, a query's
optional conditions, the id an insert made, and the form of the times the store writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils
from sqlite_utils.db import Table


def table(db: sqlite_utils.Database, name: str) -> Table:
    """The store's table ``name``: ``db[name]`` typed as a table (sqlite-utils gives ``Table |
    View``, and the store has no views)."""
    found = db[name]
    if not isinstance(found, Table):
        raise TypeError(f"{name} is a view, not a table")
    return found


@dataclass
class Filters:
    """A query's optional conditions and their parameters, kept together::

        where = Filters()
        if agent is not None:
            where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
        where.add_in("k.status", ["open", "in_progress"])
        db.execute(SQL + where.sql() + " order by ...", where.params)

    Conditions are joined with ``and``; :meth:`sql` is ``""`` when there are none.
    """

    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, condition: str, *params: object) -> None:
        """Add ``condition`` with one parameter per ``?`` in it."""
        self.conditions.append(condition)
        self.params.extend(params)

    def add_in(self, column: str, values: Iterable[object]) -> None:
        """Add ``column in (?, ...)``, one ``?`` per value."""
        values = list(values)
        self.add(f"{column} in ({','.join('?' * len(values))})", *values)

    def sql(self, keyword: str = "where") -> str:
        """`` where a and b`` (or with ``keyword``, e.g. ``having``), or ``""`` when empty."""
        return f" {keyword} " + " and ".join(self.conditions) if self.conditions else ""


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an ``insert`` just made (sqlite3 types ``lastrowid`` as ``int | None``)."""
    if cursor.lastrowid is None:
        raise ValueError("the statement inserted no row")
    return cursor.lastrowid


def utcnow() -> str:
    """Now, in UTC, to the second, as ISO 8601 text: how the store writes times."""
    return datetime.now(UTC).isoformat(timespec="seconds")
