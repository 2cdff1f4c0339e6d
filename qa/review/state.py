"""Reviewing a call: the reviewer's decision on every automated item, and what counts afterwards.

The machine's scorecards are never changed. A reviewer confirms, rejects (pass <-> fail) or
overrides (any verdict, with a required comment) each item of the call's latest scorecards and
submits (:func:`qa.review.submit.submit_review`, which builds on this module); the human
scorecards are stored beside the machine's, and from then on they count::

    submit_review(db, call_id, user, choices)     # from qa.review.submit; one ItemChoice per item
    cards = effective_scorecards(db, [call_id])[call_id]
    cards[0].card          # the scorecard that counts (human verdicts applied)
    cards[0].machine       # the machine's, as scored

A review is one row per call with a status (new, in_review, done, disputed): queues create it
(qa.review.queues), assignment moves it (qa.review.assignment), submission finishes it
(qa.review.submit). Every change is written to the audit log (qa.access.audit_log) in the same
transaction.

Re-judging pass/fail after a verdict changed uses the scorer's rule (a failed critical item fails
the call and zeroes the score; otherwise the weights of passed items over the applicable ones,
against the rubric's pass mark). The pass mark comes from the scorecard (``Scorecard.pass_mark``)
or, for cards scored before it was kept, from the rubric files (:func:`rubric_pass_marks`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.access.permissions import Action, PermissionDeniedError, can, require
from qa.access.roles import User
from qa.sql import utcnow

__all__ = [
    "EFFECTIVE_SCORECARDS_SQL",
    "Decision",
    "ItemChoice",
    "ItemDecision",
    "PassMarkUnknownError",
    "Review",
    "ReviewConflictError",
    "ReviewInputError",
    "ReviewStatus",
    "ReviewWorkflowError",
    "ReviewedScorecard",
    "apply_verdicts",
    "check_may_change",
    "effective_scorecards",
    "ensure_review",
    "get_review",
    "item_decisions",
    "rubric_pass_marks",
    "write_transaction",
]

logger = logging.getLogger(__name__)


class ReviewStatus(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    DONE = "done"
    DISPUTED = "disputed"


class Decision(StrEnum):
    CONFIRMED = "confirmed"  # the machine's verdict stands
    REJECTED = "rejected"  # the machine's pass/fail is wrong: the opposite one counts
    OVERRIDDEN = "overridden"  # another verdict counts (any of pass/fail/N/A), comment required


class ReviewWorkflowError(ValueError):
    """A review action cannot be done; the message says why and what to do."""


class ReviewInputError(ReviewWorkflowError):
    """The submitted decisions are incomplete or inconsistent (e.g. an override without comment)."""


class ReviewConflictError(ReviewWorkflowError):
    """Someone else has the review, or it is not in a state that allows the action."""


class PassMarkUnknownError(ReviewWorkflowError):
    """A changed verdict needs the pass mark, and neither the card nor the rubrics know it."""


@dataclass(frozen=True)
class Review:
    """A call's review: where it stands and who has it."""

    review_id: int
    call_id: str
    status: ReviewStatus
    assignee: str | None
    assigned_by: str | None
    assigned_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    comment: str
    revision: int  # submissions so far (0: never submitted)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ItemDecision:
    """A reviewer's decision on one item of one machine scorecard (latest submission)."""

    review_id: int
    call_id: str
    scorecard_id: int
    rubric_id: str
    rubric_version: str
    item_id: str
    decision: Decision
    machine_verdict: Verdict
    verdict: Verdict  # the human verdict, which counts
    comment: str
    reviewer: str
    decided_at: datetime

    @property
    def changed(self) -> bool:
        return self.verdict != self.machine_verdict


@dataclass(frozen=True)
class ReviewedScorecard:
    """One of a call's latest scorecards (one per rubric), with the human result where a
    submitted review covers it. ``card`` is what counts; ``machine`` is the machine's own."""

    scorecard_id: int
    machine: Scorecard
    card: Scorecard
    reviewed: bool
    reviewer: str | None
    reviewed_at: datetime | None
    review_id: int | None
    review_status: ReviewStatus | None
    decisions: tuple[ItemDecision, ...]  # this card's items, in the card's order
    pass_mark: float | None  # the mark the human result was judged against (None: not needed)

    @property
    def call_id(self) -> str:
        return self.machine.call_id

    @property
    def rubric_id(self) -> str:
        return self.machine.rubric_id


@dataclass(frozen=True)
class ItemChoice:
    """What the reviewer chose for one item: ``verdict`` is needed for an override only."""

    scorecard_id: int
    item_id: str
    decision: Decision
    verdict: Verdict | None = None
    comment: str = ""


# --- reading -----------------------------------------------------------------------------------


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _review(row: tuple) -> Review:
    return Review(
        review_id=row[0],
        call_id=row[1],
        status=ReviewStatus(row[2]),
        assignee=row[3],
        assigned_by=row[4],
        assigned_at=_dt(row[5]),
        submitted_by=row[6],
        submitted_at=_dt(row[7]),
        comment=row[8] or "",
        revision=row[9] or 0,
        created_at=datetime.fromisoformat(row[10]),
        updated_at=datetime.fromisoformat(row[11]),
    )


REVIEW_COLUMNS = (
    "review_id, call_id, status, assignee, assigned_by, assigned_at, submitted_by, "
    "submitted_at, comment, revision, created_at, updated_at"
)


def get_review(db: sqlite_utils.Database, call_id: str) -> Review | None:
    """The call's review, or None when the call has none yet."""
    row = db.execute(
        f"select {REVIEW_COLUMNS} from reviews where call_id = ?", [call_id]
    ).fetchone()
    return _review(row) if row else None


def ensure_review(db: sqlite_utils.Database, call_id: str) -> Review:
    """The call's review, created (status new, unassigned) when it has none; inside the
    caller's transaction when there is one."""
    now = utcnow()
    db.conn.execute(
        "insert or ignore into reviews (call_id, status, comment, revision, created_at, "
        "updated_at) values (?, ?, '', 0, ?, ?)",
        [call_id, ReviewStatus.NEW.value, now, now],
    )
    review = get_review(db, call_id)
    assert review is not None  # just inserted, or already there
    return review


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# The scorecards that count, the one definition of the rule: each call's latest scorecard per
# rubric (re-scoring keeps old rows), and where a submitted review covers that scorecard, its
# human result (review_scorecards). ``score``, ``max_score`` and ``passed`` are the ones that
# count; ``review_json`` and the other review columns are null where no review covers the card.
# Used as a subquery: ``with latest as (EFFECTIVE_SCORECARDS_SQL)`` or ``from (...) e``.
EFFECTIVE_SCORECARDS_SQL = """
select s.id, s.call_id, s.rubric_id, s.scorecard_json,
       coalesce(rs.score, s.score) as score, coalesce(rs.max_score, s.max_score) as max_score,
       coalesce(rs.passed, s.passed) as passed, rs.scorecard_json as review_json,
       rs.review_id, rs.reviewer, rs.submitted_at, rs.pass_mark
from scorecards s
left join review_scorecards rs on rs.scorecard_id = s.id
where s.id = (select max(s2.id) from scorecards s2
              where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)
"""

_LATEST_CARDS = f"""
select e.id, e.call_id, e.scorecard_json, e.review_json, e.reviewer, e.submitted_at,
       e.review_id, r.status, e.pass_mark
from ({EFFECTIVE_SCORECARDS_SQL}) e
left join reviews r on r.review_id = e.review_id
"""


def effective_scorecards(
    db: sqlite_utils.Database, call_ids: Sequence[str] | None = None
) -> dict[str, tuple[ReviewedScorecard, ...]]:
    """For each call (all, or those in ``call_ids``), its latest scorecard per rubric, sorted by
    rubric id, with the human result where a submitted review covers that scorecard. Calls
    without scorecards are left out. A review submitted for an older rubric version does not
    apply to a newer scorecard (the items may have changed); it stays stored."""
    rows: list[tuple] = []
    if call_ids is None:
        rows = db.execute(_LATEST_CARDS).fetchall()
    else:
        for chunk in _chunks(list(dict.fromkeys(call_ids))):
            marks = ",".join("?" * len(chunk))
            rows += db.execute(_LATEST_CARDS + f" where e.call_id in ({marks})", chunk).fetchall()
    decisions = _decisions_for_cards(db, [row[0] for row in rows if row[3] is not None])
    found: dict[str, list[ReviewedScorecard]] = {}
    for card_id, call_id, machine_json, human_json, reviewer, at, review_id, status, mark in rows:
        machine = Scorecard.model_validate_json(machine_json)
        reviewed = human_json is not None
        found.setdefault(call_id, []).append(
            ReviewedScorecard(
                scorecard_id=card_id,
                machine=machine,
                card=Scorecard.model_validate_json(human_json) if reviewed else machine,
                reviewed=reviewed,
                reviewer=reviewer,
                reviewed_at=_dt(at),
                review_id=review_id,
                review_status=ReviewStatus(status) if status else None,
                decisions=decisions.get(card_id, ()),
                pass_mark=mark,
            )
        )
    return {
        call_id: tuple(sorted(cards, key=lambda c: c.rubric_id))
        for call_id, cards in sorted(found.items())
    }


DECISION_COLUMNS = (
    "review_id, call_id, scorecard_id, rubric_id, rubric_version, item_id, decision, "
    "machine_verdict, verdict, comment, decided_by, decided_at"
)


def _decision(row: tuple) -> ItemDecision:
    return ItemDecision(
        review_id=row[0],
        call_id=row[1],
        scorecard_id=row[2],
        rubric_id=row[3],
        rubric_version=row[4],
        item_id=row[5],
        decision=Decision(row[6]),
        machine_verdict=Verdict(row[7]),
        verdict=Verdict(row[8]),
        comment=row[9] or "",
        reviewer=row[10],
        decided_at=datetime.fromisoformat(row[11]),
    )


def _decisions_for_cards(
    db: sqlite_utils.Database, card_ids: list[int]
) -> dict[int, tuple[ItemDecision, ...]]:
    found: dict[int, list[ItemDecision]] = {}
    for start in range(0, len(card_ids), 500):
        chunk = card_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"select {DECISION_COLUMNS} from review_items where scorecard_id in ({marks}) "
            "order by scorecard_id, rowid",
            chunk,
        ).fetchall():
            found.setdefault(row[2], []).append(_decision(row))
    return {card_id: tuple(items) for card_id, items in found.items()}


def item_decisions(db: sqlite_utils.Database, call_id: str) -> tuple[ItemDecision, ...]:
    """Every item decision of the call's latest submitted review (all its scorecards), by
    rubric and in each card's item order; () when the call was never reviewed."""
    rows = db.execute(
        f"select {DECISION_COLUMNS} from review_items where call_id = ? "
        "order by rubric_id, scorecard_id, rowid",
        [call_id],
    ).fetchall()
    return tuple(_decision(row) for row in rows)


# --- re-judging --------------------------------------------------------------------------------


def rubric_pass_marks(directory: str | Path) -> dict[tuple[str, str], float]:
    """``{(rubric id, version): pass mark}`` for the rubric files in ``directory``: the pass
    marks of cards scored before scorecards kept their own. Raises scoring.RubricError."""
    from scoring import load_rubrics  # the rubric loader is only needed here

    return {(r.id, r.version): r.pass_mark for r in load_rubrics(directory)}


def apply_verdicts(
    card: Scorecard, verdicts: Mapping[str, Verdict], pass_mark: float | None
) -> Scorecard:
    """``card`` with the items' results replaced by ``verdicts`` (item id -> verdict) and the
    score and pass re-judged as the scorer does. Unchanged verdicts give ``card`` itself.
    Raises :class:`PassMarkUnknownError` when the pass mark is needed and None."""
    items = tuple(
        item.model_copy(update={"result": verdicts[item.id]})
        if item.id in verdicts and verdicts[item.id] != item.result
        else item
        for item in card.items
    )
    if items == card.items:
        return card
    applicable = [item for item in items if item.result is not Verdict.NA]
    total = sum(item.weight for item in applicable)
    earned = sum(item.weight for item in applicable if item.result is Verdict.PASS)
    critical_failed = any(item.critical and item.result is Verdict.FAIL for item in applicable)
    score = 0.0 if critical_failed or total <= 0 else round(100.0 * earned / total, 2)
    if critical_failed or total <= 0:
        passed = not critical_failed
    elif pass_mark is None:
        raise PassMarkUnknownError(
            f"cannot re-judge call {card.call_id} against rubric {card.rubric_id} "
            f"v{card.rubric_version}: its scorecard does not record the pass mark and the rubric "
            "files do not have that version; start qa serve with --config naming the rubrics "
            "folder the call was scored with"
        )
    else:
        passed = score >= pass_mark
    return card.model_copy(
        update={
            "items": items,
            "score": score,
            "max_score": 100.0 if total > 0 else 0.0,
            "passed": passed,
            "pass_mark": pass_mark,
        }
    )


# --- changing a review -------------------------------------------------------------------------


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction that holds SQLite's write lock from its first read, so checks and
    changes see the same state when two users act on one review at once."""
    with db.conn:
        db.conn.execute("begin immediate")
        yield


def check_may_change(review: Review, user: User) -> None:
    """Raise unless ``user`` may work on ``review`` now: their own, unclaimed, or they may edit
    others' reviews (supervisor, admin)."""
    require(user, Action.REVIEW_CALLS)
    if can(user.role, Action.EDIT_OTHERS_REVIEWS):
        return
    me = user.username
    if review.status in (ReviewStatus.DONE, ReviewStatus.DISPUTED):
        if review.submitted_by not in (None, me):
            raise PermissionDeniedError(
                f"the review of call {review.call_id} was submitted by {review.submitted_by}: "
                "only they or a supervisor may change it"
            )
    elif review.assignee not in (None, me):
        verb = "claimed by" if review.status == ReviewStatus.IN_REVIEW else "assigned to"
        raise ReviewConflictError(
            f"call {review.call_id} is {verb} {review.assignee}: ask them or a supervisor to "
            "release it"
        )
