"""Searches saved per user: a name and a :class:`~qa.search.query.SearchQuery`, stored in
``saved_searches``. Each has a number, so a link with it (``?search=ID`` in the review app)
opens it for anyone signed in; only its owner changes or deletes it. Run as a review queue, a
saved search lists its calls with their review status, newest first::

    saved = save_search(db, user, "refund complaints", SearchQuery(text="refund", role="customer"))
    for row in search_queue(db, saved, masked=True):
        row.call_id, row.review_status, row.hits
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

import sqlite_utils

from qa.access.roles import User
from qa.search.query import SearchHit, SearchQuery, search
from qa.sql import inserted_id, utcnow

__all__ = [
    "QueueRow",
    "SavedSearch",
    "SavedSearchError",
    "delete_search",
    "get_search",
    "list_searches",
    "save_search",
    "search_queue",
]


class SavedSearchError(LookupError):
    """No such saved search, or not the user's to change."""


@dataclass(frozen=True)
class SavedSearch:
    search_id: int
    owner: str
    name: str
    query: SearchQuery


@dataclass(frozen=True)
class QueueRow:
    """A call a saved search finds, as a review queue shows it."""

    call_id: str
    review_status: str  # new | in_review | done | disputed
    assignee: str | None
    hits: tuple[SearchHit, ...]


def _row(row: tuple[int, str, str, str]) -> SavedSearch:
    search_id, owner, name, query_json = row
    return SavedSearch(search_id, owner, name, SearchQuery.from_json(query_json))


def save_search(
    db: sqlite_utils.Database, user: User, name: str, query: SearchQuery
) -> SavedSearch:
    """Save (or, under a name the user already has, replace) a search; returns it."""
    name = name.strip()
    if not name:
        raise ValueError("give the search a name")
    now = utcnow()
    with db.conn:
        found = db.conn.execute(
            "select search_id from saved_searches where owner = ? and name = ?",
            [user.username, name],
        ).fetchone()
        if found:
            search_id = int(found[0])
            db.conn.execute(
                "update saved_searches set query_json = ?, updated_at = ? where search_id = ?",
                [query.to_json(), now, search_id],
            )
        else:
            search_id = inserted_id(
                db.conn.execute(
                    "insert into saved_searches (owner, name, query_json, created_at, "
                    "updated_at) values (?, ?, ?, ?, ?)",
                    [user.username, name, query.to_json(), now, now],
                )
            )
    return SavedSearch(search_id, user.username, name, query)


def get_search(db: sqlite_utils.Database, search_id: int) -> SavedSearch:
    """The saved search ``search_id`` (anyone signed in may open one: it is shared by link)."""
    row = db.conn.execute(
        "select search_id, owner, name, query_json from saved_searches where search_id = ?",
        [search_id],
    ).fetchone()
    if row is None:
        raise SavedSearchError(f"no saved search {search_id}: it may have been deleted")
    return _row(row)


def list_searches(db: sqlite_utils.Database, owner: str) -> list[SavedSearch]:
    """The user's saved searches, by name."""
    rows = db.conn.execute(
        "select search_id, owner, name, query_json from saved_searches where owner = ? "
        "order by name",
        [owner],
    ).fetchall()
    return [_row(row) for row in rows]


def delete_search(db: sqlite_utils.Database, search_id: int, user: User) -> None:
    """Delete the user's own saved search."""
    saved = get_search(db, search_id)
    if saved.owner != user.username:
        raise SavedSearchError(
            f"saved search {search_id} is {saved.owner}'s: only they can delete it"
        )
    with db.conn:
        db.conn.execute("delete from saved_searches where search_id = ?", [search_id])


def search_queue(
    db: sqlite_utils.Database, saved: SavedSearch, *, masked: bool, zone: tzinfo = UTC
) -> list[QueueRow]:
    """The saved search's calls as a review queue: each call once, newest first, with its
    review status and assignee and the hits in it."""
    result = search(db, saved.query, masked=masked, zone=zone)
    by_call: dict[str, list[SearchHit]] = {}
    for hit in result.hits:
        by_call.setdefault(hit.call_id, []).append(hit)
    rows = []
    for call_id, hits in by_call.items():
        review = db.conn.execute(
            "select status, assignee from reviews where call_id = ?", [call_id]
        ).fetchone()
        status, assignee = review if review else ("new", None)
        rows.append(QueueRow(call_id, status, assignee, tuple(hits)))
    return rows
