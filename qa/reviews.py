"""Reviewing a call: the reviewer's decision on every automated item, and what counts afterwards.

The machine's scorecards are never changed. A reviewer confirms, rejects (pass <-> fail) or
overrides (any verdict, with a required comment) each item of the call's latest scorecards and
submits; the human scorecards are stored beside the machine's, and from then on they count::

    submit_review(db, call_id, user, [ItemChoice(card_id, "greeting", Decision.OVERRIDDEN,
                                                 Verdict.PASS, "greeted at 0:01; ASR missed it"),
                                      ItemChoice(card_id, "closing", Decision.CONFIRMED), ...])
    cards = effective_scorecards(db, [call_id])[call_id]
    cards[0].card          # the scorecard that counts (human verdicts applied)
    cards[0].machine       # the machine's, as scored

A review is one row per call with a status (new, in_review, done, disputed): queues create it
(qa.queues), assignment moves it (qa.assignment), submission here finishes it. Every change is
written to the audit log (qa.audit_log) in the same transaction.

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
from qa import audit_log
from qa.db import utcnow
from qa.permissions import Action, PermissionDeniedError, can, require
from qa.users import User

__all__ = [
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
    "effective_scorecards",
    "ensure_review",
    "get_review",
    "item_decisions",
    "rubric_pass_marks",
    "submit_review",
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


_LATEST_CARDS = """
select s.id, s.call_id, s.scorecard_json, rs.scorecard_json, rs.reviewer, rs.submitted_at,
       rs.review_id, r.status, rs.pass_mark
from scorecards s
left join review_scorecards rs on rs.scorecard_id = s.id
left join reviews r on r.review_id = rs.review_id
where s.id = (select max(s2.id) from scorecards s2
              where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)
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
            rows += db.execute(_LATEST_CARDS + f" and s.call_id in ({marks})", chunk).fetchall()
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


_DECISION_COLUMNS = (
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
            f"select {_DECISION_COLUMNS} from review_items where scorecard_id in ({marks}) "
            "order by scorecard_id, rowid",
            chunk,
        ).fetchall():
            found.setdefault(row[2], []).append(_decision(row))
    return {card_id: tuple(items) for card_id, items in found.items()}


def item_decisions(db: sqlite_utils.Database, call_id: str) -> tuple[ItemDecision, ...]:
    """Every item decision of the call's latest submitted review (all its scorecards), by
    rubric and in each card's item order; () when the call was never reviewed."""
    rows = db.execute(
        f"select {_DECISION_COLUMNS} from review_items where call_id = ? "
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


# --- submitting --------------------------------------------------------------------------------


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction that holds SQLite's write lock from its first read, so checks and
    changes see the same state when two users act on one review at once."""
    with db.conn:
        db.conn.execute("begin immediate")
        yield


def _latest_cards(db: sqlite_utils.Database, call_id: str) -> dict[int, Scorecard]:
    rows = db.execute(
        "select s.id, s.scorecard_json from scorecards s where s.call_id = ? and s.id = "
        "(select max(s2.id) from scorecards s2 where s2.call_id = s.call_id "
        "and s2.rubric_id = s.rubric_id) order by s.rubric_id",
        [call_id],
    ).fetchall()
    return {card_id: Scorecard.model_validate_json(text) for card_id, text in rows}


def check_may_change(db: sqlite_utils.Database, review: Review, user: User) -> None:
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


def _human_verdict(choice: ItemChoice, machine: Verdict, label: str) -> Verdict:
    if choice.decision is Decision.CONFIRMED:
        implied = machine
    elif choice.decision is Decision.REJECTED:
        if machine is Verdict.NA:
            raise ReviewInputError(
                f"{label}: an N/A verdict cannot be rejected; override it with the verdict it "
                "should have and a comment"
            )
        implied = Verdict.FAIL if machine is Verdict.PASS else Verdict.PASS
    else:
        if choice.verdict is None:
            raise ReviewInputError(f"{label}: an override needs the verdict that should count")
        if choice.verdict == machine:
            raise ReviewInputError(
                f"{label}: {machine.value} is the machine's own verdict; confirm it instead"
            )
        if not choice.comment.strip():
            raise ReviewInputError(f"{label}: an override needs a comment saying why")
        return choice.verdict
    if choice.verdict is not None and choice.verdict != implied:
        raise ReviewInputError(
            f"{label}: {choice.decision.value} means {implied.value}, not "
            f"{choice.verdict.value}; override the item to give another verdict"
        )
    return implied


def _validated(
    cards: dict[int, Scorecard], choices: Sequence[ItemChoice]
) -> dict[tuple[int, str], tuple[ItemChoice, Verdict]]:
    by_key: dict[tuple[int, str], tuple[ItemChoice, Verdict]] = {}
    for choice in choices:
        key = (choice.scorecard_id, choice.item_id)
        card = cards.get(choice.scorecard_id)
        if card is None or choice.item_id not in {item.id for item in card.items}:
            raise ReviewInputError(
                f"item {choice.item_id!r} of scorecard {choice.scorecard_id} is not on the "
                "call's latest scorecards; reload the call (it may have been re-scored)"
            )
        if key in by_key:
            raise ReviewInputError(f"item {choice.item_id!r} was decided twice")
        label = f"{card.rubric_id}/{choice.item_id}"
        by_key[key] = (choice, _human_verdict(choice, card.item(choice.item_id).result, label))
    missing = [
        f"{card.rubric_id}/{item.id}"
        for card_id, card in cards.items()
        for item in card.items
        if (card_id, item.id) not in by_key
    ]
    if missing:
        raise ReviewInputError(
            f"confirm, reject or override every item before submitting; undecided: "
            f"{', '.join(missing)}"
        )
    return by_key


def _summary(cards: Sequence[Scorecard]) -> str:
    return "; ".join(
        f"{c.rubric_id} {c.score:g}/{c.max_score:g} {'pass' if c.passed else 'FAIL'}" for c in cards
    )


def submit_review(
    db: sqlite_utils.Database,
    call_id: str,
    user: User,
    choices: Sequence[ItemChoice],
    *,
    comment: str = "",
    pass_marks: Mapping[tuple[str, str], float] | None = None,
) -> Review:
    """Submit ``user``'s decisions on every item of the call's latest scorecards, with an
    optional free ``comment``: the human scorecards are stored and count from now on, the review
    is ``done``, and each change is in the audit log. Submitting again replaces the previous
    human result (the audit log keeps what it was).

    Raises PermissionDeniedError (role, or another reviewer's submitted review),
    :class:`ReviewConflictError` (claimed by someone else), :class:`ReviewInputError` (an
    item undecided, an override without verdict or comment) or :class:`PassMarkUnknownError`.
    """
    require(user, Action.REVIEW_CALLS)
    marks = pass_marks or {}
    with write_transaction(db):
        cards = _latest_cards(db, call_id)
        if not cards:
            raise ReviewInputError(
                f"call {call_id} has no scorecard yet: nothing to review (run qa run first)"
            )
        review = ensure_review(db, call_id)
        check_may_change(db, review, user)
        chosen = _validated(cards, choices)
        human: dict[int, tuple[Scorecard, float | None]] = {}
        for card_id, card in cards.items():
            mark = card.pass_mark
            if mark is None:
                mark = marks.get((card.rubric_id, card.rubric_version))
            verdicts = {item_id: v for (cid, item_id), (_, v) in chosen.items() if cid == card_id}
            judged = apply_verdicts(card, verdicts, mark)
            human[card_id] = (judged, mark if judged is not card else None)
        previous = {(d.scorecard_id, d.item_id): d for d in item_decisions(db, call_id)}
        before_cards = _stored_human_cards(db, review.review_id)
        now = utcnow()
        db.conn.execute("delete from review_items where review_id = ?", [review.review_id])
        db.conn.execute("delete from review_scorecards where review_id = ?", [review.review_id])
        for card_id, card in cards.items():
            for item in card.items:
                choice, verdict = chosen[(card_id, item.id)]
                db.conn.execute(
                    f"insert into review_items ({_DECISION_COLUMNS}) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [review.review_id, call_id, card_id, card.rubric_id, card.rubric_version,
                     item.id, choice.decision.value, item.result.value, verdict.value,
                     choice.comment.strip(), user.username, now],
                )  # fmt: skip
                _audit_item(db, user, review, card, item.id, choice, verdict, previous, now)
            judged, mark = human[card_id]
            db.conn.execute(
                "insert into review_scorecards (review_id, scorecard_id, call_id, pass_mark, "
                "score, max_score, passed, reviewer, submitted_at, scorecard_json) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [review.review_id, card_id, call_id, mark, judged.score, judged.max_score,
                 int(judged.passed), user.username, now, judged.model_dump_json()],
            )  # fmt: skip
        db.conn.execute(
            "update reviews set status = ?, assignee = coalesce(assignee, ?), submitted_by = ?, "
            "submitted_at = ?, comment = ?, revision = revision + 1, updated_at = ? "
            "where review_id = ?",
            [ReviewStatus.DONE.value, user.username, user.username, now, comment.strip(), now,
             review.review_id],
        )  # fmt: skip
        audit_log.record(
            db,
            user.username,
            "review.submit",
            call_id=call_id,
            review_id=review.review_id,
            target="review",
            before=f"{review.status.value}"
            + (f"; {_summary(before_cards)}" if before_cards else f"; {_summary(cards.values())}"),
            after=f"{ReviewStatus.DONE.value}; {_summary([c for c, _ in human.values()])}",
            reason=comment.strip(),
            at=now,
        )
    logger.info("%s submitted the review of call %s", user.username, call_id)
    submitted = get_review(db, call_id)
    assert submitted is not None
    return submitted


def _stored_human_cards(db: sqlite_utils.Database, review_id: int) -> list[Scorecard]:
    rows = db.execute(
        "select scorecard_json from review_scorecards where review_id = ? order by scorecard_id",
        [review_id],
    ).fetchall()
    return [Scorecard.model_validate_json(row[0]) for row in rows]


def _audit_item(
    db: sqlite_utils.Database,
    user: User,
    review: Review,
    card: Scorecard,
    item_id: str,
    choice: ItemChoice,
    verdict: Verdict,
    previous: Mapping[tuple[int, str], ItemDecision],
    now: str,
) -> None:
    """Log the item's decision when it is a change: a verdict that differs from what counted
    before, another decision, or a new comment. A plain first confirmation is in the submit
    entry's summary only."""
    machine = card.item(item_id).result
    prior = previous.get((choice.scorecard_id, item_id))
    before = prior.verdict if prior else machine
    comment = choice.comment.strip()
    if prior is None and choice.decision is Decision.CONFIRMED and not comment:
        return
    if prior is not None and (prior.decision, prior.verdict, prior.comment) == (
        choice.decision,
        verdict,
        comment,
    ):
        return
    action = {
        Decision.CONFIRMED: "item.confirm",
        Decision.REJECTED: "item.reject",
        Decision.OVERRIDDEN: "item.override",
    }[choice.decision]
    audit_log.record(
        db,
        user.username,
        action,
        call_id=card.call_id,
        review_id=review.review_id,
        target=f"{card.rubric_id}/{item_id}",
        before=before.value if prior is None else f"{prior.decision.value}: {before.value}",
        after=f"{choice.decision.value}: {verdict.value}",
        reason=comment,
        at=now,
    )
