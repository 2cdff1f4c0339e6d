"""Who reviews which call: claiming, releasing, assigning, disputing, and a reviewer's worklist.

A review moves through four states::

    new ──claim──▶ in_review ──submit (qa.review.state)──▶ done ──dispute──▶ disputed
     ▲                │                                 ▲                  │
     └────release─────┘                                 └──submit again────┘

- A reviewer claims an unassigned call (or one assigned to them) and may release it again.
- Supervisors and admins assign calls to reviewers, one by one or round-robin over a queue, and
  may take over or release anyone's claim.
- A supervisor marks a submitted review disputed (an agent contests it), with the reason; the
  reviewer who submitted it, or a supervisor, submits it again.

Every change is in the audit log, in the same transaction::

    claim(db, call_id, user)
    assign_round_robin(db, ["lin", "mei"], supervisor, queue=Queue.SAMPLE)
    for item in worklist(db, "lin"): item.call_id, item.status, item.queues
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from qa.access import audit_log
from qa.access.permissions import Action, can, require
from qa.access.roles import User
from qa.access.users import get_user, list_users
from qa.review.state import (
    Review,
    ReviewConflictError,
    ReviewStatus,
    ReviewWorkflowError,
    check_may_change,
    ensure_review,
    get_review,
    write_transaction,
)
from qa.sql import utcnow

__all__ = [
    "WorkItem",
    "assign",
    "assign_round_robin",
    "claim",
    "dispute",
    "release",
    "reviewers",
    "worklist",
]

logger = logging.getLogger(__name__)

_OPEN = (ReviewStatus.NEW, ReviewStatus.IN_REVIEW)


@dataclass(frozen=True)
class WorkItem:
    """A review on someone's worklist."""

    call_id: str
    start: datetime
    agent: str | None
    agent_name: str | None
    status: ReviewStatus
    queues: tuple[str, ...]  # the queues the call is in (none when opened from the call list)
    assigned_by: str | None
    assigned_at: datetime | None

    @property
    def agent_label(self) -> str:
        return self.agent_name or self.agent or "(unknown)"


def _state(review: Review) -> str:
    return f"{review.status.value}, {review.assignee or 'unassigned'}"


def _require_call(db: sqlite_utils.Database, call_id: str) -> None:
    if db.execute("select 1 from calls where call_id = ?", [call_id]).fetchone() is None:
        raise ReviewWorkflowError(f"no call {call_id!r} in the store: pick one from the list")


def _set(db: sqlite_utils.Database, review: Review, **changes: object) -> Review:
    columns = ", ".join(f"{key} = ?" for key in changes)
    db.conn.execute(
        f"update reviews set {columns}, updated_at = ? where review_id = ?",
        [*changes.values(), utcnow(), review.review_id],
    )
    updated = get_review(db, review.call_id)
    assert updated is not None
    return updated


def claim(db: sqlite_utils.Database, call_id: str, user: User) -> Review:
    """Take the call's review: it becomes ``in_review`` with ``user`` as the assignee.

    Raises ReviewConflictError when someone else has it (a supervisor may take it over) or it
    was submitted already (submit again to change it), PermissionDeniedError for a role that
    does not review."""
    require(user, Action.REVIEW_CALLS)
    _require_call(db, call_id)
    with write_transaction(db):
        review = ensure_review(db, call_id)
        if review.status not in _OPEN:
            raise ReviewConflictError(
                f"the review of call {call_id} is {review.status.value} (by "
                f"{review.submitted_by}): open the call and submit again to change it"
            )
        check_may_change(review, user)
        if review.status is ReviewStatus.IN_REVIEW and review.assignee == user.username:
            return review
        updated = _set(db, review, status=ReviewStatus.IN_REVIEW.value, assignee=user.username)
        audit_log.record(
            db, user.username, "review.claim", call_id=call_id, review_id=review.review_id,
            target="review", before=_state(review), after=_state(updated),
        )  # fmt: skip
    return updated


def release(db: sqlite_utils.Database, call_id: str, user: User, reason: str = "") -> Review:
    """Give the call's review back: ``new`` and unassigned, for someone else to claim."""
    require(user, Action.REVIEW_CALLS)
    with write_transaction(db):
        review = get_review(db, call_id)
        if review is None or review.status not in _OPEN:
            state = review.status.value if review else "not in review"
            raise ReviewConflictError(
                f"the review of call {call_id} is {state}: nothing to release"
            )
        if review.assignee != user.username and not can(user.role, Action.EDIT_OTHERS_REVIEWS):
            raise ReviewConflictError(
                f"call {call_id} is not yours to release"
                + (f": it is {review.assignee}'s" if review.assignee else "")
            )
        updated = _set(
            db, review, status=ReviewStatus.NEW.value, assignee=None, assigned_by=None,
            assigned_at=None,
        )  # fmt: skip
        audit_log.record(
            db, user.username, "review.release", call_id=call_id, review_id=review.review_id,
            target="review", before=_state(review), after=_state(updated), reason=reason.strip(),
        )  # fmt: skip
    return updated


def reviewers(db: sqlite_utils.Database) -> list[User]:
    """The users who may review calls (reviewers, supervisors, admins), by username."""
    return [user for user in list_users(db) if can(user.role, Action.REVIEW_CALLS)]


def _reviewer(db: sqlite_utils.Database, username: str) -> User:
    reviewer = get_user(db, username)
    if reviewer is None or not can(reviewer.role, Action.REVIEW_CALLS):
        raise ReviewWorkflowError(
            f"{username!r} is not a user who reviews calls: choose a reviewer (qa users list)"
        )
    return reviewer


def _assign_one(db: sqlite_utils.Database, review: Review, reviewer: str, by: User) -> Review:
    updated = _set(
        db, review, status=ReviewStatus.NEW.value, assignee=reviewer, assigned_by=by.username,
        assigned_at=utcnow(),
    )  # fmt: skip
    audit_log.record(
        db, by.username, "review.assign", call_id=review.call_id, review_id=review.review_id,
        target="review", before=_state(review), after=_state(updated),
    )  # fmt: skip
    return updated


def assign(db: sqlite_utils.Database, call_id: str, reviewer: str, by: User) -> Review:
    """Assign the call's review to ``reviewer`` (a supervisor's or admin's action); a claim by
    someone else is taken over. The review is ``new`` on the reviewer's worklist."""
    require(by, Action.ASSIGN_REVIEWS)
    _require_call(db, call_id)
    _reviewer(db, reviewer)
    with write_transaction(db):
        review = ensure_review(db, call_id)
        if review.status not in _OPEN:
            raise ReviewConflictError(
                f"the review of call {call_id} is {review.status.value}: it was submitted "
                "already; mark it disputed to have it reviewed again"
            )
        if review.assignee == reviewer:
            return review
        return _assign_one(db, review, reviewer, by)


def assign_round_robin(
    db: sqlite_utils.Database,
    reviewer_names: Sequence[str],
    by: User,
    *,
    queue: str | None = None,
    limit: int | None = None,
) -> dict[str, list[str]]:
    """Deal the unassigned new reviews (of one queue, or all; oldest call first) to
    ``reviewer_names`` in turn, starting after whoever was dealt one last. With one reviewer,
    this assigns a whole queue to them. Returns reviewer -> call ids assigned."""
    require(by, Action.ASSIGN_REVIEWS)
    names = list(dict.fromkeys(reviewer_names))
    if not names:
        raise ReviewWorkflowError("choose at least one reviewer to assign calls to")
    for name in names:
        _reviewer(db, name)
    dealt: dict[str, list[str]] = {name: [] for name in names}
    with write_transaction(db):
        sql = (
            "select r.call_id from reviews r join calls c on c.call_id = r.call_id "
            "where r.status = 'new' and r.assignee is null"
        )
        params: list[object] = []
        if queue is not None:
            sql += " and r.call_id in (select call_id from queue_entries where queue = ?)"
            params.append(str(queue))
        sql += " order by c.start, r.call_id"
        if limit is not None:
            sql += " limit ?"
            params.append(int(limit))
        call_ids = [row[0] for row in db.execute(sql, params).fetchall()]
        last = db.execute(
            "select assignee from reviews where assigned_at is not null and assignee in "
            f"({','.join('?' * len(names))}) order by assigned_at desc, review_id desc limit 1",
            names,
        ).fetchone()
        turn = (names.index(last[0]) + 1) % len(names) if last else 0
        for call_id in call_ids:
            review = get_review(db, call_id)
            assert review is not None
            name = names[turn]
            _assign_one(db, review, name, by)
            dealt[name].append(call_id)
            turn = (turn + 1) % len(names)
    logger.info("%s assigned %d review(s) round-robin", by.username, len(call_ids))
    return dealt


def dispute(db: sqlite_utils.Database, call_id: str, by: User, reason: str) -> Review:
    """Mark a submitted review disputed (e.g. the agent contests it), with the reason. It stays
    on the submitter's worklist until they or a supervisor submit it again; until then the
    submitted human result still counts."""
    require(by, Action.DISPUTE_REVIEWS)
    if not reason.strip():
        raise ReviewWorkflowError("say why the review is disputed")
    with write_transaction(db):
        review = get_review(db, call_id)
        if review is None or review.status is not ReviewStatus.DONE:
            state = review.status.value if review else "not reviewed"
            raise ReviewConflictError(
                f"the review of call {call_id} is {state}: only a submitted (done) review can "
                "be disputed"
            )
        updated = _set(
            db, review, status=ReviewStatus.DISPUTED.value,
            assignee=review.submitted_by or review.assignee,
        )  # fmt: skip
        audit_log.record(
            db, by.username, "review.dispute", call_id=call_id, review_id=review.review_id,
            target="review", before=_state(review), after=_state(updated), reason=reason.strip(),
        )  # fmt: skip
    return updated


def worklist(
    db: sqlite_utils.Database,
    username: str,
    statuses: Sequence[ReviewStatus] = (
        ReviewStatus.NEW,
        ReviewStatus.IN_REVIEW,
        ReviewStatus.DISPUTED,
    ),
) -> list[WorkItem]:
    """The reviews assigned to ``username`` in ``statuses`` (default: everything still to do),
    oldest call first."""
    marks = ",".join("?" * len(statuses))
    rows = db.execute(
        "select r.call_id, c.start, c.agent, c.agent_name, r.status, r.assigned_by, "
        "r.assigned_at, (select group_concat(e.queue, ',') from queue_entries e "
        "where e.call_id = r.call_id) from reviews r join calls c on c.call_id = r.call_id "
        f"where r.assignee = ? and r.status in ({marks}) order by c.start, r.call_id",
        [username, *(ReviewStatus(s).value for s in statuses)],
    ).fetchall()
    return [
        WorkItem(
            call_id=row[0],
            start=datetime.fromisoformat(row[1]),
            agent=row[2],
            agent_name=row[3],
            status=ReviewStatus(row[4]),
            queues=tuple(sorted(row[7].split(","))) if row[7] else (),
            assigned_by=row[5],
            assigned_at=datetime.fromisoformat(row[6]) if row[6] else None,
        )
        for row in rows
    ]
