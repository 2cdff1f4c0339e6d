"""Calibration sessions: several reviewers score the same calls blind, and the report says how far
they agree with each other, with their consensus, and with the machine.

A supervisor picks calls and reviewers; each reviewer scores every item of the calls' latest
scorecards without seeing the others' verdicts or the machine's; the report gives per rubric item
the agreement (the mean share of agreeing reviewer pairs, and Fleiss' kappa over the session's
calls), each reviewer's deviation from the consensus (the majority verdict), and the machine's
agreement with the consensus; the supervisor records the agreed answer for each item::

    session = create_session(db, sam, "November", [c1, c2, c3], ["rita", "rob", "ria"])
    blind_items(db, rita, session.session_id)                 # what rita scores; no verdicts
    score_items(db, rita, session.session_id, {(card_id, "greeting"): Verdict.PASS, ...})
    report = calibration_report(db, sam, session.session_id)
    record_answer(db, sam, session.session_id, card_id, "greeting", Verdict.PASS, "heard at 0:01")

Calibration scores live in their own tables: they never count in agent records, queues or the
rule agreement (qa.review.agreement), and never change a review.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.access import audit_log
from qa.access.permissions import Action, PermissionDeniedError, can, require
from qa.access.roles import User
from qa.access.users import get_user
from qa.review.state import ReviewConflictError, ReviewInputError, write_transaction
from qa.sql import inserted_id, utcnow

__all__ = [
    "BlindItem",
    "CalibrationReport",
    "ItemAgreement",
    "Session",
    "blind_items",
    "calibration_report",
    "create_session",
    "fleiss_kappa",
    "list_sessions",
    "record_answer",
    "score_items",
]

logger = logging.getLogger(__name__)

CATEGORIES = (Verdict.PASS, Verdict.FAIL, Verdict.NA)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa of a subjects × categories table of rater counts (every subject rated by
    the same number of raters, at least two). None when it is undefined: no subjects, or every
    rating in one category (chance agreement is then 1)."""
    if not table:
        return None
    raters = sum(table[0])
    if raters < 2 or any(sum(row) != raters for row in table):
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of raters per subject")
    subjects = len(table)
    per_subject = [(sum(n * n for n in row) - raters) / (raters * (raters - 1)) for row in table]
    observed = sum(per_subject) / subjects
    shares = [sum(row[j] for row in table) / (subjects * raters) for j in range(len(table[0]))]
    expected = sum(p * p for p in shares)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def _pair_agreement(row: Sequence[int]) -> float:
    raters = sum(row)
    return (sum(n * n for n in row) - raters) / (raters * (raters - 1)) if raters > 1 else 1.0


@dataclass(frozen=True)
class Session:
    session_id: int
    title: str
    status: str
    created_by: str
    created_at: datetime
    call_ids: tuple[str, ...]
    reviewers: tuple[str, ...]


@dataclass(frozen=True)
class BlindItem:
    """One item a reviewer scores: which call and rubric item, never a verdict."""

    scorecard_id: int
    call_id: str
    rubric_id: str
    item_id: str
    title: str
    mine: Verdict | None  # the reviewer's own verdict so far

    @property
    def key(self) -> str:
        return f"{self.scorecard_id}:{self.item_id}"


@dataclass(frozen=True)
class ItemAgreement:
    """One rubric item over the session's calls."""

    rubric_id: str
    item_id: str
    calls: int  # calls every reviewer scored
    agreement: float | None  # mean share of reviewer pairs agreeing, over those calls
    kappa: float | None  # Fleiss' kappa over those calls
    machine_agreement: float | None  # share of calls with a consensus where the machine matches
    consensus: dict[str, Verdict | None]  # call id -> the majority verdict (None: a tie)
    machine: dict[str, Verdict]  # call id -> the machine's verdict
    answers: dict[str, Verdict]  # call id -> the agreed answer recorded

    @property
    def rule(self) -> str:
        return f"{self.rubric_id}/{self.item_id}"


@dataclass(frozen=True)
class CalibrationReport:
    session: Session
    items: tuple[ItemAgreement, ...]
    kappa: float | None  # over every (call, item) scored by all
    deviation: dict[str, float | None]  # reviewer -> share of their verdicts off the consensus
    scored: dict[str, int]  # reviewer -> items scored
    total_items: int

    def to_json(self) -> dict[str, object]:
        def num(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "session_id": self.session.session_id,
            "title": self.session.title,
            "status": self.session.status,
            "calls": list(self.session.call_ids),
            "reviewers": list(self.session.reviewers),
            "kappa": num(self.kappa),
            "deviation": {k: num(v) for k, v in self.deviation.items()},
            "scored": self.scored,
            "total_items": self.total_items,
            "items": [
                {
                    "rubric_id": i.rubric_id,
                    "item_id": i.item_id,
                    "calls": i.calls,
                    "agreement": num(i.agreement),
                    "kappa": num(i.kappa),
                    "machine_agreement": num(i.machine_agreement),
                    "consensus": {c: v.value if v else None for c, v in i.consensus.items()},
                    "machine": {c: v.value for c, v in i.machine.items()},
                    "answers": {c: v.value for c, v in i.answers.items()},
                }
                for i in self.items
            ],
        }


# --- sessions ------------------------------------------------------------------------------------


def _session(db: sqlite_utils.Database, session_id: int) -> Session:
    row = db.execute(
        "select session_id, title, status, created_by, created_at from calibration_sessions "
        "where session_id = ?",
        [session_id],
    ).fetchone()
    if row is None:
        raise ReviewInputError(
            f"no calibration session #{session_id}: list them with `qa calibration report`"
        )
    calls = db.execute(
        "select distinct call_id from calibration_cards where session_id = ? order by call_id",
        [session_id],
    ).fetchall()
    people = db.execute(
        "select username from calibration_reviewers where session_id = ? order by username",
        [session_id],
    ).fetchall()
    return Session(row[0], row[1], row[2], row[3] or "", datetime.fromisoformat(row[4]),
                   tuple(c[0] for c in calls), tuple(p[0] for p in people))  # fmt: skip


def list_sessions(db: sqlite_utils.Database, user: User | None = None) -> list[Session]:
    """Every session, newest first; for a user who may not run calibration, the sessions they
    score in."""
    rows = db.execute("select session_id from calibration_sessions order by session_id desc")
    sessions = [_session(db, row[0]) for row in rows.fetchall()]
    if user is None or can(user.role, Action.RUN_CALIBRATION):
        return sessions
    return [s for s in sessions if user.username in s.reviewers]


def _latest_cards(db: sqlite_utils.Database, call_id: str) -> list[tuple[int, Scorecard]]:
    rows = db.execute(
        "select s.id, s.scorecard_json from scorecards s where s.call_id = ? and s.id = "
        "(select max(s2.id) from scorecards s2 where s2.call_id = s.call_id "
        "and s2.rubric_id = s.rubric_id) order by s.rubric_id",
        [call_id],
    ).fetchall()
    return [(card_id, Scorecard.model_validate_json(text)) for card_id, text in rows]


def create_session(
    db: sqlite_utils.Database,
    user: User,
    title: str,
    call_ids: Sequence[str],
    reviewers: Sequence[str],
) -> Session:
    """A calibration session over the latest scorecards of ``call_ids``, scored by
    ``reviewers`` (at least two, each a user who reviews calls)."""
    require(user, Action.RUN_CALIBRATION)
    title = title.strip()
    calls = list(dict.fromkeys(c.strip() for c in call_ids if c.strip()))
    people = sorted({r.strip() for r in reviewers if r.strip()})
    if not title:
        raise ReviewInputError("give the session a title, e.g. 'November calibration'")
    if not calls:
        raise ReviewInputError("pick at least one scored call for the session")
    if len(people) < 2:
        raise ReviewInputError("pick at least two reviewers: calibration compares them")
    for name in people:
        found = get_user(db, name)
        if found is None or not can(found.role, Action.REVIEW_CALLS):
            raise ReviewInputError(f"{name} is not a user who reviews calls")
    now = utcnow()
    with write_transaction(db):
        cards = {call_id: _latest_cards(db, call_id) for call_id in calls}
        unscored = [call_id for call_id, stored in cards.items() if not stored]
        if unscored:
            raise ReviewInputError(f"not scored yet, so nothing to calibrate: {unscored}")
        cursor = db.conn.execute(
            "insert into calibration_sessions (title, status, created_by, created_at) "
            "values (?, 'open', ?, ?)",
            [title, user.username, now],
        )
        session_id = inserted_id(cursor)
        for call_id, stored in cards.items():
            for card_id, _ in stored:
                db.conn.execute(
                    "insert into calibration_cards (session_id, scorecard_id, call_id) "
                    "values (?, ?, ?)",
                    [session_id, card_id, call_id],
                )
        db.conn.executemany(
            "insert into calibration_reviewers (session_id, username) values (?, ?)",
            [(session_id, name) for name in people],
        )
        audit_log.record(
            db, user.username, "calibration.create", target=f"session {session_id}",
            after=f"{title}: {len(calls)} call(s), reviewers {', '.join(people)}", at=now,
        )  # fmt: skip
    logger.info("%s started calibration session %d", user.username, session_id)
    return _session(db, session_id)


def _session_cards(db: sqlite_utils.Database, session_id: int) -> list[tuple[int, Scorecard]]:
    rows = db.execute(
        "select s.id, s.scorecard_json from calibration_cards k join scorecards s "
        "on s.id = k.scorecard_id where k.session_id = ? order by k.call_id, s.rubric_id",
        [session_id],
    ).fetchall()
    return [(card_id, Scorecard.model_validate_json(text)) for card_id, text in rows]


def _check_reviewer(session: Session, user: User) -> None:
    require(user, Action.REVIEW_CALLS)
    if user.username not in session.reviewers:
        raise PermissionDeniedError(
            f"{user.username} is not a reviewer of calibration session #{session.session_id}"
        )


def blind_items(db: sqlite_utils.Database, user: User, session_id: int) -> list[BlindItem]:
    """The items ``user`` scores in the session, with their own verdicts so far and nothing
    else: not the machine's, not the other reviewers'."""
    session = _session(db, session_id)
    _check_reviewer(session, user)
    mine = {
        (card_id, item_id): Verdict(verdict)
        for card_id, item_id, verdict in db.execute(
            "select scorecard_id, item_id, verdict from calibration_scores "
            "where session_id = ? and username = ?",
            [session_id, user.username],
        ).fetchall()
    }
    return [
        BlindItem(card_id, card.call_id, card.rubric_id, item.id, item.title or item.id,
                  mine.get((card_id, item.id)))
        for card_id, card in _session_cards(db, session_id)
        for item in card.items
    ]  # fmt: skip


def score_items(
    db: sqlite_utils.Database,
    user: User,
    session_id: int,
    verdicts: Mapping[tuple[int, str], Verdict | str],
) -> int:
    """Save ``user``'s verdicts (``(scorecard id, item id) -> verdict``) in the open session;
    a verdict may be changed until the session closes. Returns how many were saved."""
    now = utcnow()
    with write_transaction(db):
        session = _session(db, session_id)
        _check_reviewer(session, user)
        if session.status != "open":
            raise ReviewConflictError(f"calibration session #{session_id} is closed")
        known = {(card_id, item.id) for card_id, card in _session_cards(db, session_id)
                 for item in card.items}  # fmt: skip
        for key, verdict in verdicts.items():
            if key not in known:
                raise ReviewInputError(f"item {key[1]!r} of scorecard {key[0]} is not in session "
                                       f"#{session_id}")  # fmt: skip
            db.conn.execute(
                "insert or replace into calibration_scores (session_id, scorecard_id, item_id, "
                "username, verdict, scored_at) values (?, ?, ?, ?, ?, ?)",
                [session_id, key[0], key[1], user.username, Verdict(verdict).value, now],
            )
    return len(verdicts)


def record_answer(
    db: sqlite_utils.Database,
    user: User,
    session_id: int,
    scorecard_id: int,
    item_id: str,
    verdict: Verdict | str,
    comment: str = "",
) -> None:
    """The supervisor records the agreed answer for one item of one call (replacing an
    earlier one); in the audit log."""
    require(user, Action.RUN_CALIBRATION)
    now = utcnow()
    with write_transaction(db):
        cards = dict(_session_cards(db, session_id))
        card = cards.get(scorecard_id)
        if card is None or item_id not in {item.id for item in card.items}:
            raise ReviewInputError(
                f"item {item_id!r} of scorecard {scorecard_id} is not in session #{session_id}"
            )
        db.conn.execute(
            "insert or replace into calibration_answers (session_id, scorecard_id, item_id, "
            "verdict, comment, decided_by, decided_at) values (?, ?, ?, ?, ?, ?, ?)",
            [session_id, scorecard_id, item_id, Verdict(verdict).value, comment.strip(),
             user.username, now],
        )  # fmt: skip
        audit_log.record(
            db, user.username, "calibration.answer", call_id=card.call_id,
            target=f"session {session_id}: {card.rubric_id}/{item_id}",
            after=Verdict(verdict).value, reason=comment.strip(), at=now,
        )  # fmt: skip


# --- the report ----------------------------------------------------------------------------------


def _majority(votes: Sequence[Verdict]) -> Verdict | None:
    counts = Counter(votes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def calibration_report(db: sqlite_utils.Database, user: User, session_id: int) -> CalibrationReport:
    """Agreement per rubric item over the calls every reviewer scored, overall Fleiss' kappa,
    each reviewer's deviation from the consensus, the machine against the consensus, and the
    agreed answers recorded."""
    require(user, Action.RUN_CALIBRATION)
    session = _session(db, session_id)
    cards = _session_cards(db, session_id)
    scores: dict[tuple[int, str], dict[str, Verdict]] = {}
    for card_id, item_id, name, verdict in db.execute(
        "select scorecard_id, item_id, username, verdict from calibration_scores "
        "where session_id = ?",
        [session_id],
    ).fetchall():
        scores.setdefault((card_id, item_id), {})[name] = Verdict(verdict)
    answers = {
        (card_id, item_id): Verdict(verdict)
        for card_id, item_id, verdict in db.execute(
            "select scorecard_id, item_id, verdict from calibration_answers where session_id = ?",
            [session_id],
        ).fetchall()
    }
    everyone = set(session.reviewers)
    by_rule: dict[tuple[str, str], list[tuple[int, Scorecard, str]]] = {}
    for card_id, card in cards:
        for item in card.items:
            by_rule.setdefault((card.rubric_id, item.id), []).append((card_id, card, item.id))
    items, all_rows = [], []
    off: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for (rubric_id, item_id), places in by_rule.items():
        rows, consensus, machine, agreed = [], {}, {}, {}
        for card_id, card, _ in places:
            votes = scores.get((card_id, item_id), {})
            machine[card.call_id] = card.item(item_id).result
            if (card_id, item_id) in answers:
                agreed[card.call_id] = answers[(card_id, item_id)]
            if set(votes) != everyone:
                continue  # not every reviewer has scored it yet
            rows.append([list(votes.values()).count(c) for c in CATEGORIES])
            majority = _majority(list(votes.values()))
            consensus[card.call_id] = majority
            if majority is not None:
                for name, verdict in votes.items():
                    judged[name] += 1
                    off[name] += verdict != majority
        all_rows.extend(rows)
        decided = [c for c, v in consensus.items() if v is not None]
        items.append(ItemAgreement(
            rubric_id=rubric_id, item_id=item_id, calls=len(rows),
            agreement=sum(_pair_agreement(r) for r in rows) / len(rows) if rows else None,
            kappa=fleiss_kappa(rows) if rows else None,
            machine_agreement=(sum(machine[c] == consensus[c] for c in decided) / len(decided)
                               if decided else None),
            consensus=consensus, machine=machine, answers=agreed,
        ))  # fmt: skip
    scored = Counter(name for votes in scores.values() for name in votes)
    return CalibrationReport(
        session=session,
        items=tuple(items),
        kappa=fleiss_kappa(all_rows) if all_rows else None,
        deviation={
            name: (off[name] / judged[name] if judged[name] else None) for name in session.reviewers
        },
        scored={name: scored.get(name, 0) for name in session.reviewers},
        total_items=sum(len(card.items) for _, card in cards),
    )
