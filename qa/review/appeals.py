"""Agents answer their evaluations: they acknowledge each one, and may appeal an item.

An evaluation is a submitted review of one of the agent's calls (qa.review.submit). The agent
(a user of role ``agent`` linked to the call's agent identity, qa.access.agent_links) acknowledges
it, and within the site's window (``[appeals] window_days``, counted from the submission) may
appeal one item with a comment. A supervisor or admin, or only the QA leads the site names
(``[appeals] settled_by``), upholds or overturns it with a comment. The decision is final, unless
the site allows a second round (``second_round``): an upheld appeal may then be appealed once more
within the window, counted from the decision::

    acknowledge(db, alice, call_id)
    appeal = open_appeal(db, alice, call_id, card_id, "greeting", "I greeted at 0:01", settings)
    decide_appeal(db, sam, appeal.appeal_id, overturn=True, comment="heard it", settings=settings)

An overturned item changes the result that counts: the item's human verdict becomes the one the
agent sought and the human scorecard is re-judged (qa.review.state.apply_verdicts), so agent
records, exports and the call list follow. The machine's scorecard is never changed. Every step
is in the audit log (``evaluation.acknowledge``, ``appeal.open``, ``appeal.uphold``,
``appeal.overturn``), in the same transaction as the change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.access import audit_log
from qa.access.agent_links import agent_of
from qa.access.permissions import Action, PermissionDeniedError, require
from qa.access.roles import Role, User
from qa.config import AppealSettings
from qa.review.state import (
    Decision,
    Review,
    ReviewConflictError,
    ReviewInputError,
    ReviewStatus,
    ReviewWorkflowError,
    apply_verdicts,
    get_review,
    write_transaction,
)
from qa.sql import Filters, inserted_id

__all__ = [
    "Appeal",
    "AppealStatus",
    "FollowUp",
    "NotLinkedError",
    "acknowledge",
    "acknowledged_revision",
    "check_own_call",
    "decide_appeal",
    "follow_up",
    "get_appeal",
    "list_appeals",
    "open_appeal",
    "own_agent",
]

logger = logging.getLogger(__name__)


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class NotLinkedError(PermissionDeniedError):
    """The user is not linked to an agent identity, so has no calls of their own."""


@dataclass(frozen=True)
class Appeal:
    """One appeal of one item of one evaluation, and its outcome."""

    appeal_id: int
    call_id: str
    review_id: int
    scorecard_id: int
    rubric_id: str
    item_id: str
    agent: str
    opened_by: str
    round: int
    status: AppealStatus
    verdict_before: Verdict
    verdict_sought: Verdict
    comment: str
    opened_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str

    @property
    def target(self) -> str:
        return f"{self.rubric_id}/{self.item_id}"

    def to_json(self) -> dict[str, object]:
        return {
            "appeal_id": self.appeal_id,
            "call_id": self.call_id,
            "agent": self.agent,
            "opened_by": self.opened_by,
            "rubric_id": self.rubric_id,
            "item_id": self.item_id,
            "round": self.round,
            "status": self.status.value,
            "verdict_before": self.verdict_before.value,
            "verdict_sought": self.verdict_sought.value,
            "comment": self.comment,
            "opened_at": self.opened_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_comment": self.decision_comment,
        }


_COLUMNS = (
    "appeal_id, call_id, review_id, scorecard_id, rubric_id, item_id, agent, opened_by, round, "
    "status, verdict_before, verdict_sought, comment, opened_at, decided_by, decided_at, "
    "decision_comment"
)


def _appeal(row: tuple) -> Appeal:
    return Appeal(
        appeal_id=row[0], call_id=row[1], review_id=row[2], scorecard_id=row[3], rubric_id=row[4],
        item_id=row[5], agent=row[6], opened_by=row[7], round=row[8], status=AppealStatus(row[9]),
        verdict_before=Verdict(row[10]), verdict_sought=Verdict(row[11]), comment=row[12] or "",
        opened_at=datetime.fromisoformat(row[13]), decided_by=row[14],
        decided_at=datetime.fromisoformat(row[15]) if row[15] else None,
        decision_comment=row[16] or "",
    )  # fmt: skip


def get_appeal(db: sqlite_utils.Database, appeal_id: int) -> Appeal:
    """The appeal ``appeal_id``; a :class:`ReviewWorkflowError` when there is none."""
    row = db.execute(f"select {_COLUMNS} from appeals where appeal_id = ?", [appeal_id]).fetchone()
    if row is None:
        raise ReviewWorkflowError(f"no appeal #{appeal_id}: list them with `qa appeals`")
    return _appeal(row)


def list_appeals(
    db: sqlite_utils.Database,
    *,
    status: AppealStatus | str | None = None,
    agent: str | None = None,
    call_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[Appeal]:
    """Appeals, oldest first: with ``status``, of the calls of ``agent`` (id or name), of one
    call, opened on the site's (``tz``) days ``since``..``until`` (inclusive)."""
    where = Filters()
    if status is not None:
        where.add("a.status = ?", AppealStatus(status).value)
    if agent is not None:
        where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
    if call_id is not None:
        where.add("a.call_id = ?", call_id)
    # A day either side in UTC holds every local day (zones are within UTC±14h).
    if since is not None:
        where.add("a.opened_at >= ?", (since - timedelta(days=1)).isoformat())
    if until is not None:
        where.add("a.opened_at < ?", (until + timedelta(days=2)).isoformat())
    columns = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))
    rows = db.execute(
        f"select {columns} from appeals a join calls c on c.call_id = a.call_id"
        + where.sql()
        + " order by a.opened_at, a.appeal_id",
        where.params,
    ).fetchall()
    found = [_appeal(row) for row in rows]
    return [
        a
        for a in found
        if (since is None or a.opened_at.astimezone(tz).date() >= since)
        and (until is None or a.opened_at.astimezone(tz).date() <= until)
    ]


# --- the agent's side --------------------------------------------------------------------------


def own_agent(db: sqlite_utils.Database, user: User) -> str:
    """The agent identity of ``user``, who must be allowed their own evaluations; a
    :class:`NotLinkedError` when no agent identity is linked to them."""
    require(user, Action.VIEW_OWN_EVALUATIONS)
    agent = agent_of(db, user.username)
    if agent is None:
        raise NotLinkedError(
            f"{user.username} is not linked to an agent: ask an admin to run "
            f"`qa users link-agent {user.username} EXTENSION`"
        )
    return agent


def check_own_call(db: sqlite_utils.Database, user: User, call_id: str) -> str:
    """The agent identity of ``user`` when ``call_id`` is one of their calls; otherwise a
    PermissionDeniedError that says the same for an unknown call and another agent's (it
    tells nothing about calls that are not theirs)."""
    agent = own_agent(db, user)
    row = db.execute(
        "select 1 from calls where call_id = ? and (agent = ? or agent_name = ?)",
        [call_id, agent, agent],
    ).fetchone()
    if row is None:
        logger.warning("refused %s: call %r is not theirs", user.username, call_id)
        raise PermissionDeniedError(f"call {call_id!r} is not one of your calls")
    return agent


def acknowledged_revision(db: sqlite_utils.Database, call_id: str) -> int | None:
    """The latest revision of the call's evaluation that was acknowledged, or None."""
    row = db.execute(
        "select max(revision) from evaluation_acks where call_id = ?", [call_id]
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def _submitted(db: sqlite_utils.Database, call_id: str) -> Review:
    review = get_review(db, call_id)
    if review is None or review.revision == 0 or review.submitted_at is None:
        raise ReviewConflictError(
            f"call {call_id} has no submitted evaluation yet: there is nothing to acknowledge "
            "or appeal"
        )
    return review


def acknowledge(
    db: sqlite_utils.Database, user: User, call_id: str, *, now: datetime | None = None
) -> bool:
    """The agent ``user`` acknowledges the submitted evaluation of their call ``call_id`` (its
    current revision). Returns False when it was already acknowledged."""
    require(user, Action.APPEAL_EVALUATIONS)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with write_transaction(db):
        check_own_call(db, user, call_id)
        review = _submitted(db, call_id)
        cursor = db.conn.execute(
            "insert or ignore into evaluation_acks (call_id, revision, username, "
            "acknowledged_at) values (?, ?, ?, ?)",
            [call_id, review.revision, user.username, stamp],
        )
        if cursor.rowcount == 0:
            return False
        audit_log.record(
            db, user.username, "evaluation.acknowledge", call_id=call_id,
            review_id=review.review_id, target="evaluation", after=f"revision {review.revision}",
            at=stamp,
        )  # fmt: skip
    logger.info("%s acknowledged the evaluation of call %s", user.username, call_id)
    return True


def _opposite(verdict: Verdict) -> Verdict | None:
    return {Verdict.PASS: Verdict.FAIL, Verdict.FAIL: Verdict.PASS}.get(verdict)


def open_appeal(
    db: sqlite_utils.Database,
    user: User,
    call_id: str,
    scorecard_id: int,
    item_id: str,
    comment: str,
    settings: AppealSettings,
    *,
    sought: Verdict | str | None = None,
    now: datetime | None = None,
) -> Appeal:
    """The agent ``user`` appeals one item of the evaluation of their call, asking for
    ``sought`` (default: the opposite of the pass or fail that counts), with a ``comment``.

    Refused (:class:`ReviewWorkflowError` saying why) without a comment, outside the window,
    with an appeal of the item still open, or after the final decision."""
    require(user, Action.APPEAL_EVALUATIONS)
    comment = comment.strip()
    if not comment:
        raise ReviewInputError("say in the comment why the item should count otherwise")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    window = timedelta(days=settings.window_days)
    with write_transaction(db):
        agent = check_own_call(db, user, call_id)
        review = _submitted(db, call_id)
        row = db.execute(
            "select rubric_id, verdict from review_items where review_id = ? and "
            "scorecard_id = ? and item_id = ?",
            [review.review_id, scorecard_id, item_id],
        ).fetchone()
        if row is None:
            raise ReviewInputError(
                f"item {item_id!r} of scorecard {scorecard_id} is not in the evaluation of call "
                f"{call_id}; reload the call"
            )
        rubric_id, current = row[0], Verdict(row[1])
        earlier = [a for a in list_appeals(db, call_id=call_id)
                   if (a.scorecard_id, a.item_id) == (scorecard_id, item_id)]  # fmt: skip
        label = f"{rubric_id}/{item_id}"
        if any(a.status is AppealStatus.OPEN for a in earlier):
            raise ReviewConflictError(f"{label} already has an open appeal; wait for the decision")
        if not earlier:
            round_, since = 1, review.submitted_at
        else:
            last = earlier[-1]
            final = (
                last.status is AppealStatus.OVERTURNED
                or not settings.second_round
                or last.round >= 2
            )
            if final:
                raise ReviewConflictError(
                    f"{label}: the appeal was {last.status.value} by {last.decided_by}; that "
                    "decision is final"
                )
            round_, since = 2, last.decided_at
        assert since is not None
        if when > since.astimezone(UTC) + window:
            raise ReviewConflictError(
                f"{label}: the window to appeal closed on "
                f"{(since + window).astimezone(UTC):%Y-%m-%d %H:%M} UTC "
                f"({settings.window_days:g} days after the "
                f"{'evaluation' if round_ == 1 else 'decision'})"
            )
        wanted = Verdict(sought) if sought is not None else _opposite(current)
        if wanted is None or wanted == current:
            raise ReviewInputError(
                f"{label} counts as {current.value}: say which verdict it should have instead"
            )
        stamp = when.isoformat(timespec="seconds")
        cursor = db.conn.execute(
            f"insert into appeals ({_COLUMNS}) values (null, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, null, null, '')",
            [call_id, review.review_id, scorecard_id, rubric_id, item_id, agent, user.username,
             round_, AppealStatus.OPEN.value, current.value, wanted.value, comment, stamp],
        )  # fmt: skip
        appeal_id = inserted_id(cursor)
        audit_log.record(
            db, user.username, "appeal.open", call_id=call_id, review_id=review.review_id,
            target=label, before=current.value, after=f"sought: {wanted.value}",
            reason=comment, at=stamp,
        )  # fmt: skip
    logger.info("%s appealed %s of call %s (round %d)", user.username, label, call_id, round_)
    return get_appeal(db, appeal_id)


# --- the lead's side ---------------------------------------------------------------------------


def _check_settler(user: User, settings: AppealSettings) -> None:
    require(user, Action.SETTLE_APPEALS)
    named = settings.settled_by
    if named and user.username not in named and user.role is not Role.ADMIN:
        raise PermissionDeniedError(
            f"appeals are settled by {', '.join(named)} at this site ([appeals] settled_by)"
        )


def decide_appeal(
    db: sqlite_utils.Database,
    user: User,
    appeal_id: int,
    *,
    overturn: bool,
    comment: str,
    settings: AppealSettings,
    pass_marks: Mapping[tuple[str, str], float] | None = None,
    now: datetime | None = None,
) -> Appeal:
    """Uphold the evaluation (``overturn=False``) or overturn the item, with a ``comment``.
    Overturning makes the sought verdict count: the review's item and human scorecard change.
    Raises PermissionDeniedError, :class:`ReviewWorkflowError` (no comment, already decided) or
    PassMarkUnknownError."""
    _check_settler(user, settings)
    comment = comment.strip()
    if not comment:
        raise ReviewInputError("say in the comment why the appeal is upheld or overturned")
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with write_transaction(db):
        appeal = get_appeal(db, appeal_id)
        if appeal.status is not AppealStatus.OPEN:
            raise ReviewConflictError(
                f"appeal #{appeal_id} was already {appeal.status.value} by {appeal.decided_by}"
            )
        status = AppealStatus.OVERTURNED if overturn else AppealStatus.UPHELD
        if overturn:
            _overturn(db, user, appeal, comment, stamp, pass_marks or {})
        db.conn.execute(
            "update appeals set status = ?, decided_by = ?, decided_at = ?, decision_comment = ? "
            "where appeal_id = ?",
            [status.value, user.username, stamp, comment, appeal_id],
        )
        audit_log.record(
            db, user.username, "appeal.overturn" if overturn else "appeal.uphold",
            call_id=appeal.call_id, review_id=appeal.review_id, target=appeal.target,
            before=appeal.verdict_before.value,
            after=(appeal.verdict_sought if overturn else appeal.verdict_before).value,
            reason=comment, at=stamp,
        )  # fmt: skip
    logger.info("%s %s appeal #%d", user.username, status.value, appeal_id)
    return get_appeal(db, appeal_id)


def _overturn(
    db: sqlite_utils.Database,
    user: User,
    appeal: Appeal,
    comment: str,
    stamp: str,
    pass_marks: Mapping[tuple[str, str], float],
) -> None:
    """The sought verdict counts for the item: the review item and the human scorecard."""
    machine_json, stored_mark = db.execute(
        "select s.scorecard_json, rs.pass_mark from scorecards s join review_scorecards rs "
        "on rs.scorecard_id = s.id where s.id = ? and rs.review_id = ?",
        [appeal.scorecard_id, appeal.review_id],
    ).fetchone()
    machine = Scorecard.model_validate_json(machine_json)
    verdicts = dict(
        db.execute(
            "select item_id, verdict from review_items where review_id = ? and scorecard_id = ?",
            [appeal.review_id, appeal.scorecard_id],
        ).fetchall()
    )
    verdicts[appeal.item_id] = appeal.verdict_sought.value
    mark = machine.pass_mark
    if mark is None:
        mark = stored_mark
    if mark is None:
        mark = pass_marks.get((machine.rubric_id, machine.rubric_version))
    judged = apply_verdicts(machine, {k: Verdict(v) for k, v in verdicts.items()}, mark)
    machine_verdict = machine.item(appeal.item_id).result
    decision = (
        Decision.CONFIRMED if appeal.verdict_sought == machine_verdict else Decision.OVERRIDDEN
    )
    db.conn.execute(
        "update review_items set decision = ?, verdict = ?, comment = ?, decided_by = ?, "
        "decided_at = ? where review_id = ? and scorecard_id = ? and item_id = ?",
        [decision.value, appeal.verdict_sought.value,
         f"appeal #{appeal.appeal_id} overturned: {comment}", user.username, stamp,
         appeal.review_id, appeal.scorecard_id, appeal.item_id],
    )  # fmt: skip
    db.conn.execute(
        "update review_scorecards set score = ?, max_score = ?, passed = ?, pass_mark = ?, "
        "scorecard_json = ? where review_id = ? and scorecard_id = ?",
        [judged.score, judged.max_score, int(judged.passed),
         mark if judged is not machine else stored_mark, judged.model_dump_json(),
         appeal.review_id, appeal.scorecard_id],
    )  # fmt: skip


# --- what agent records count ------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """What came after one call's evaluation: acknowledged (its current revision), appeals
    opened, decided and overturned."""

    acknowledged: bool = False
    appeals: int = 0
    decided: int = 0
    overturned: int = 0


def follow_up(db: sqlite_utils.Database, call_ids: Sequence[str]) -> dict[str, FollowUp]:
    """:class:`FollowUp` of each submitted evaluation among ``call_ids`` (calls never
    evaluated are left out)."""
    found: dict[str, FollowUp] = {}
    ids = list(dict.fromkeys(call_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            "select r.call_id, exists(select 1 from evaluation_acks k where k.call_id = r.call_id "
            "and k.revision = r.revision), "
            "(select count(*) from appeals a where a.call_id = r.call_id), "
            "(select count(*) from appeals a where a.call_id = r.call_id and a.status != 'open'), "
            "(select count(*) from appeals a where a.call_id = r.call_id "
            "and a.status = 'overturned') "
            "from reviews r where r.revision > 0 and r.status in (?, ?) "
            f"and r.call_id in ({marks})",
            [ReviewStatus.DONE.value, ReviewStatus.DISPUTED.value, *chunk],
        ).fetchall()
        for call_id, acked, appeals, decided, overturned in rows:
            found[call_id] = FollowUp(bool(acked), appeals, decided, overturned)
    return found
