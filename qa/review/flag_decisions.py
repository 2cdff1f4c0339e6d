"""Reviewers' decisions on a call's flags: a flag the machine raised confirmed or rejected, one it
missed added. Saved with the review (:func:`qa.review.submit.submit_review`, ``flags=``)::

    submit_review(db, call_id, user, item_choices,
                  flags=[FlagChoice(card_id, "complaint", FlagDecisionKind.REJECTED,
                                    "the customer was joking"),
                         FlagChoice(card_id, "escalation_risk", FlagDecisionKind.ADDED,
                                    "threatens to leave at 1:12")])
    flag_rows(db, call_id, cards)   # what the form shows: each flag raised or addable, decided

Every flag the machine raised on the call's latest scorecards needs a decision when flags are
given (confirm or reject); a flag it did not raise may be added when the rubric version has it
(a flag that version raised on some call in the store, or one a reviewer added before). The
decisions replace the review's previous ones, each change is in the audit log in the submit's
transaction, and only roles that review calls may make them. :mod:`qa.review.agreement` counts
them: the precision of each flag (confirmed of decided) and the calls the machine missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils

from calldata import Flag, Scorecard
from qa.access import audit_log
from qa.access.permissions import Action, require
from qa.access.roles import User
from qa.review.state import Review, ReviewInputError

__all__ = [
    "FlagChoice",
    "FlagDecisionKind",
    "FlagPlan",
    "FlagRow",
    "check_flag_choices",
    "flag_rows",
    "known_flags",
    "record_flag_decisions",
]


class FlagDecisionKind(StrEnum):
    CONFIRMED = "confirmed"  # the machine raised it, rightly
    REJECTED = "rejected"  # the machine raised it, wrongly
    ADDED = "added"  # the machine missed it: counts against the flag's recall


@dataclass(frozen=True)
class FlagChoice:
    """What the reviewer decided on one flag of one of the call's latest scorecards."""

    scorecard_id: int
    flag_id: str
    decision: FlagDecisionKind
    comment: str = ""


@dataclass(frozen=True)
class FlagRow:
    """One flag as the review form shows it: raised by the machine (with its severity) or one
    the rubric version has and the machine did not raise, with the submitted decision if any."""

    scorecard_id: int
    rubric_id: str
    rubric_version: str
    flag_id: str
    title: str
    raised: bool
    severity: str = ""  # the machine's, when raised
    hint: bool = False  # raised on a guess about misheard words
    decision: FlagDecisionKind | None = None  # None: not decided yet
    comment: str = ""
    reviewer: str | None = None

    @property
    def label(self) -> str:
        return f"“{self.title or self.flag_id}”"


def known_flags(db: sqlite_utils.Database, rubric_id: str, version: str) -> dict[str, str]:
    """``{flag id: title}`` of the flags rubric ``rubric_id`` version ``version`` has, as far as
    the store knows: raised on some call, or added by a reviewer. Each flag id of the store is
    looked up from the newest scorecard back (the index of migration 017), so a store of a year's
    calls answers in milliseconds when the version is the current one."""
    found: dict[str, str] = {}
    for (flag_id,) in db.execute("select distinct flag_id from flags").fetchall():
        row = db.execute(
            "select f.title from flags f join scorecards s on s.id = f.scorecard_id "
            "where f.flag_id = ? and s.rubric_id = ? and s.rubric_version = ? "
            "order by f.scorecard_id desc limit 1",
            [flag_id, rubric_id, version],
        ).fetchone()
        if row is not None:
            found[flag_id] = row[0] or ""
    for (flag_id,) in db.execute(
        "select distinct flag_id from review_flags where rubric_id = ? and rubric_version = ?",
        [rubric_id, version],
    ).fetchall():
        found.setdefault(flag_id, "")
    return dict(sorted(found.items()))


def _decided(db: sqlite_utils.Database, card_ids: Sequence[int]) -> dict[tuple[int, str], tuple]:
    if not card_ids:
        return {}
    marks = ",".join("?" * len(card_ids))
    rows = db.execute(
        "select scorecard_id, flag_id, decision, comment, decided_by from review_flags "
        f"where scorecard_id in ({marks})",
        list(card_ids),
    ).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def flag_rows(db: sqlite_utils.Database, cards: Mapping[int, Scorecard]) -> tuple[FlagRow, ...]:
    """Per scorecard (``{scorecard id: the machine's card}``, in that order): the flags the
    machine raised, then the rubric version's other flags (:func:`known_flags`), each with the
    decision submitted on it."""
    decided = _decided(db, list(cards))
    rows: list[FlagRow] = []
    for card_id, card in cards.items():
        raised = {flag.id: flag for flag in card.flags}
        others = {k: v for k, v in known_flags(db, card.rubric_id, card.rubric_version).items()
                  if k not in raised}  # fmt: skip
        entries: list[tuple[str, str, Flag | None]] = [
            *((f.id, f.title, f) for f in card.flags),
            *((flag_id, title, None) for flag_id, title in others.items()),
        ]
        for flag_id, title, flag in entries:
            decision, comment, reviewer = decided.get((card_id, flag_id), (None, "", None))
            rows.append(
                FlagRow(
                    scorecard_id=card_id, rubric_id=card.rubric_id,
                    rubric_version=card.rubric_version, flag_id=flag_id,
                    title=title or flag_id, raised=flag is not None,
                    severity=flag.severity if flag else "", hint=bool(flag and flag.hint),
                    decision=FlagDecisionKind(decision) if decision else None,
                    comment=comment or "", reviewer=reviewer,
                )
            )  # fmt: skip
    return tuple(rows)


@dataclass(frozen=True)
class FlagPlan:
    """Checked flag decisions, ready to store: each with the flag's row."""

    decisions: tuple[tuple[FlagRow, FlagChoice], ...]


def check_flag_choices(
    db: sqlite_utils.Database, cards: Mapping[int, Scorecard], choices: Sequence[FlagChoice]
) -> FlagPlan:
    """``choices`` checked against the call's latest scorecards ``cards``: every raised flag
    confirmed or rejected, added flags only ones the rubric version has and the machine did not
    raise. Raises :class:`ReviewInputError` saying what to change."""
    rows = {(row.scorecard_id, row.flag_id): row for row in flag_rows(db, cards)}
    plan: dict[tuple[int, str], tuple[FlagRow, FlagChoice]] = {}
    for choice in choices:
        key = (choice.scorecard_id, choice.flag_id)
        card = cards.get(choice.scorecard_id)
        if card is None:
            raise ReviewInputError(
                f"flag {choice.flag_id!r}: scorecard {choice.scorecard_id} is not one of the "
                "call's latest; reload the call (it may have been re-scored)"
            )
        row = rows.get(key)
        if row is None:
            raise ReviewInputError(
                f"flag {choice.flag_id!r} is not a flag of rubric {card.rubric_id} "
                f"v{card.rubric_version} this store knows; pick one of: "
                + (", ".join(sorted(f for (c, f) in rows if c == choice.scorecard_id)) or "none")
            )
        if key in plan:
            raise ReviewInputError(f"flag {row.label} was decided twice")
        if row.raised and choice.decision is FlagDecisionKind.ADDED:
            raise ReviewInputError(
                f"flag {row.label} was raised by the machine: confirm or reject it"
            )
        if not row.raised and choice.decision is not FlagDecisionKind.ADDED:
            raise ReviewInputError(
                f"flag {row.label} was not raised on this call: add it if the call has it, "
                "or leave it out"
            )
        plan[key] = (row, choice)
    undecided = [row.label for key, row in rows.items() if row.raised and key not in plan]
    if undecided:
        raise ReviewInputError(
            f"confirm or reject every flag the machine raised; undecided: {', '.join(undecided)}"
        )
    return FlagPlan(tuple(plan.values()))


_ACTIONS = {
    FlagDecisionKind.CONFIRMED: "flag.confirm",
    FlagDecisionKind.REJECTED: "flag.reject",
    FlagDecisionKind.ADDED: "flag.add",
}


def record_flag_decisions(
    db: sqlite_utils.Database, user: User, review: Review, plan: FlagPlan, now: str
) -> None:
    """Store ``plan`` as the review's flag decisions, replacing the previous ones, inside the
    caller's transaction; each change is in the audit log (a plain first confirmation without a
    comment is not a change; a decision dropped since the last submission is, as
    ``flag.withdraw``)."""
    require(user, Action.REVIEW_CALLS)
    previous = {
        (row[0], row[1]): (row[2], row[3], row[4], row[5])
        for row in db.execute(
            "select scorecard_id, flag_id, decision, comment, rubric_id, call_id "
            "from review_flags where review_id = ?",
            [review.review_id],
        ).fetchall()
    }
    db.conn.execute("delete from review_flags where review_id = ?", [review.review_id])
    kept: set[tuple[int, str]] = set()
    for row, choice in plan.decisions:
        comment = choice.comment.strip()
        db.conn.execute(
            "insert into review_flags (review_id, scorecard_id, call_id, rubric_id, "
            "rubric_version, flag_id, decision, raised, hint, comment, decided_by, decided_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [review.review_id, row.scorecard_id, review.call_id, row.rubric_id,
             row.rubric_version, row.flag_id, choice.decision.value, int(row.raised),
             int(row.hint), comment, user.username, now],
        )  # fmt: skip
        key = (row.scorecard_id, row.flag_id)
        kept.add(key)
        prior = previous.get(key)
        if prior is None and choice.decision is FlagDecisionKind.CONFIRMED and not comment:
            continue
        if prior is not None and (prior[0], prior[1] or "") == (choice.decision.value, comment):
            continue
        audit_log.record(
            db, user.username, _ACTIONS[choice.decision], call_id=review.call_id,
            review_id=review.review_id, target=f"{row.rubric_id}/flag:{row.flag_id}",
            before=prior[0] if prior else ("raised" if row.raised else "not raised"),
            after=choice.decision.value, reason=comment, at=now,
        )  # fmt: skip
    for (card_id, flag_id), (decision, _, rubric_id, call_id) in sorted(previous.items()):
        if (card_id, flag_id) not in kept:
            audit_log.record(
                db, user.username, "flag.withdraw", call_id=call_id, review_id=review.review_id,
                target=f"{rubric_id}/flag:{flag_id}", before=decision, after="no decision",
                at=now,
            )  # fmt: skip
