"""Submitting a review: the reviewer's decision on every item, stored beside the machine's result.

    submit_review(db, call_id, user, [ItemChoice(card_id, "greeting", Decision.OVERRIDDEN,
                                                 Verdict.PASS, "greeted at 0:01; ASR missed it"),
                                      ItemChoice(card_id, "closing", Decision.CONFIRMED), ...],
                  comment="polite, but no closing")

Every item of the call's latest scorecards needs a decision: confirmed (the machine's verdict
stands), rejected (pass <-> fail) or overridden (any verdict, with a comment saying why). The human
scorecards are stored (``review_scorecards``) and count from then on
(:func:`qa.review.state.effective_scorecards`); the machine's are never changed. Each change is in
the audit log, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.access import audit_log
from qa.access.permissions import Action, require
from qa.access.roles import User
from qa.review.flag_decisions import FlagChoice, check_flag_choices, record_flag_decisions
from qa.review.state import (
    DECISION_COLUMNS,
    Decision,
    ItemChoice,
    ItemDecision,
    Review,
    ReviewInputError,
    ReviewStatus,
    apply_verdicts,
    check_may_change,
    ensure_review,
    get_review,
    item_decisions,
    write_transaction,
)
from qa.sql import utcnow

__all__ = ["submit_review"]

logger = logging.getLogger(__name__)


def _latest_cards(db: sqlite_utils.Database, call_id: str) -> dict[int, Scorecard]:
    rows = db.execute(
        "select s.id, s.scorecard_json from scorecards s where s.call_id = ? and s.id = "
        "(select max(s2.id) from scorecards s2 where s2.call_id = s.call_id "
        "and s2.rubric_id = s.rubric_id) order by s.rubric_id",
        [call_id],
    ).fetchall()
    return {card_id: Scorecard.model_validate_json(text) for card_id, text in rows}


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
        item = card.item(choice.item_id)
        label = f"“{item.title or item.id}”"  # the item as the reviewer reads it, not its id
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


def _summary(cards: Iterable[Scorecard]) -> str:
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
    flags: Sequence[FlagChoice] | None = None,
) -> Review:
    """Submit ``user``'s decisions on every item of the call's latest scorecards, with an
    optional free ``comment``: the human scorecards are stored and count from now on, the review
    is ``done``, and each change is in the audit log. Submitting again replaces the previous
    human result (the audit log keeps what it was). ``flags``: the decisions on the call's flags
    (qa.review.flag_decisions), every raised flag confirmed or rejected, replacing the previous
    ones; None leaves the flag decisions as they were.

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
        check_may_change(review, user)
        chosen = _validated(cards, choices)
        flag_plan = check_flag_choices(db, cards, flags) if flags is not None else None
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
                    f"insert into review_items ({DECISION_COLUMNS}) "
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
        if flag_plan is not None:
            record_flag_decisions(db, user, review, flag_plan, now)
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
