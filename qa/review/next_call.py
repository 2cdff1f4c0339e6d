"""Which call a reviewer opens next: the review desk's "next call".

Their own worklist first (reviews assigned to them and not done, oldest call first), then the
queues' calls nobody has (status ``new``, unassigned), queue by queue in the order the Queues
tab lists them (complaints and critical failures before samples), oldest call first within a
queue. The call just reviewed is skipped.

Usage::

    call_id = next_call(db, user, after="1763651705.11")   # None: nothing left to review
"""

from __future__ import annotations

import sqlite_utils

from qa.access.roles import User
from qa.review.assignment import worklist
from qa.review.queues import Queue, queue_calls
from qa.review.state import ReviewStatus

__all__ = ["next_call"]


def next_call(db: sqlite_utils.Database, user: User, after: str | None = None) -> str | None:
    """The call ``user`` should review next, other than ``after``; None when none is left."""
    for item in worklist(db, user.username):
        if item.call_id != after:
            return item.call_id
    for queue in Queue:
        rows = queue_calls(db, queue, statuses=(ReviewStatus.NEW,), unassigned=True)
        for row in reversed(rows):  # queue_calls is newest first
            if row.call_id != after:
                return row.call_id
    return None
