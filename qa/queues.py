"""Review queues: which scored calls people should look at, and why.

Five queues are computed from the machine's scorecards, flags and transcripts::

    summary = refresh_queues(db, config.review, config.zone)   # adds what is new; safe to repeat
    rows = queue_calls(db, Queue.COMPLAINTS)                   # newest first, with review status

- ``complaints``: a complaint flag was raised;
- ``critical``: a critical item failed;
- ``low_score``: a scorecard earned under ``review.low_score`` of its points;
- ``low_confidence``: the transcript's word confidence or the role assignment's confidence is
  under its threshold (the machine may have misheard, or mixed up who is the agent);
- ``sample``: a random sample of each agent's scored calls per local day, ``review.sample_rate``
  (10% by default, the source documents' rule), at least one call per agent-day with calls.

The sample is reproducible: each call's rank is a hash of the seed, the day, the agent and the
call id, and the lowest ranks are drawn. Queue entries are kept once made, so a call does not
leave the sample when more calls of that day arrive; the sample only grows to keep its share.
Every call put in a queue gets a review (status ``new``, unassigned).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.config import ReviewSettings
from qa.db import utcnow
from qa.reviews import ReviewStatus, ensure_review

__all__ = [
    "QUEUE_LABELS",
    "Queue",
    "QueueCount",
    "QueueRow",
    "RefreshSummary",
    "queue_calls",
    "queue_counts",
    "refresh_queues",
    "sample_rank",
]

logger = logging.getLogger(__name__)


class Queue(StrEnum):
    COMPLAINTS = "complaints"
    CRITICAL = "critical"
    LOW_SCORE = "low_score"
    LOW_CONFIDENCE = "low_confidence"
    SAMPLE = "sample"


QUEUE_LABELS = {
    Queue.COMPLAINTS: "Complaints",
    Queue.CRITICAL: "Critical failures",
    Queue.LOW_SCORE: "Low scores",
    Queue.LOW_CONFIDENCE: "Low transcript/role confidence",
    Queue.SAMPLE: "Random sample",
}


@dataclass(frozen=True)
class RefreshSummary:
    """How many calls each queue gained in one refresh."""

    added: dict[Queue, int]

    @property
    def total(self) -> int:
        return sum(self.added.values())


@dataclass(frozen=True)
class QueueRow:
    """One call in a queue, with where its review stands."""

    queue: Queue
    call_id: str
    start: datetime
    day: str
    agent: str | None
    agent_name: str | None
    reason: str
    score: float | None  # percent across the call's latest scorecards (machine)
    passed: bool | None
    status: ReviewStatus
    assignee: str | None

    @property
    def agent_label(self) -> str:
        return self.agent_name or self.agent or "(unknown)"


@dataclass(frozen=True)
class QueueCount:
    queue: Queue
    open: int  # new or in review
    total: int


def _is_complaint(flag_id: str) -> bool:
    return flag_id.startswith("complaint")


def sample_rank(seed: int, day: str, agent: str, call_id: str) -> str:
    """The call's place in its agent-day's draw: lower is drawn first. A hash, so the same
    seed, day, agent and call always give the same rank, and nobody can steer it."""
    return hashlib.sha256(f"{seed}\x1f{day}\x1f{agent}\x1f{call_id}".encode()).hexdigest()


@dataclass(frozen=True)
class _Scored:
    call_id: str
    start: datetime
    agent_key: str
    agent_label: str
    cards: tuple[Scorecard, ...]
    confidence: float | None
    role_confidence: float | None


def _scored_calls(db: sqlite_utils.Database) -> list[_Scored]:
    rows = db.execute(
        "select c.call_id, c.start, coalesce(c.agent, c.agent_name, ''), "
        "coalesce(c.agent_name, c.agent, 'unknown agent'), t.confidence, "
        "t.role_confidence, s.scorecard_json from calls c "
        "join scorecards s on s.call_id = c.call_id "
        "left join transcripts t on t.call_id = c.call_id "
        "where s.id = (select max(s2.id) from scorecards s2 where s2.call_id = s.call_id "
        "and s2.rubric_id = s.rubric_id) order by c.start, c.call_id, s.rubric_id"
    ).fetchall()
    calls: dict[str, _Scored] = {}
    for call_id, start, agent, label, confidence, role_confidence, card_json in rows:
        card = Scorecard.model_validate_json(card_json)
        known = calls.get(call_id)
        calls[call_id] = _Scored(
            call_id,
            known.start if known else datetime.fromisoformat(start),
            agent,
            label,
            (*known.cards, card) if known else (card,),
            confidence,
            role_confidence,
        )
    return list(calls.values())


def _reasons(call: _Scored, settings: ReviewSettings) -> dict[Queue, str]:
    """The condition-based queues the call belongs in, each with the reason shown to people."""
    found: dict[Queue, str] = {}
    complaints = [f for card in call.cards for f in card.flags if _is_complaint(f.id)]
    if complaints:
        found[Queue.COMPLAINTS] = "; ".join(
            f"{flag.title or flag.id} ({flag.severity})" for flag in complaints
        )
    critical = [
        f"{card.rubric_id}/{item.id}"
        for card in call.cards
        for item in card.items
        if item.critical and item.result is Verdict.FAIL
    ]
    if critical:
        found[Queue.CRITICAL] = "critical item failed: " + ", ".join(critical)
    low = [
        f"{card.rubric_id} {card.score / card.max_score:.0%}"
        for card in call.cards
        if card.max_score > 0 and card.score / card.max_score < settings.low_score
    ]
    if low:
        found[Queue.LOW_SCORE] = f"score under {settings.low_score:.0%}: " + ", ".join(low)
    doubts = []
    if call.confidence is not None and call.confidence < settings.low_confidence:
        doubts.append(f"transcript confidence {call.confidence:.0%}")
    if call.role_confidence is not None and call.role_confidence < settings.low_role_confidence:
        doubts.append(f"role confidence {call.role_confidence:.0%}")
    if doubts:
        found[Queue.LOW_CONFIDENCE] = ", ".join(doubts)
    return found


def refresh_queues(
    db: sqlite_utils.Database, settings: ReviewSettings, zone: ZoneInfo
) -> RefreshSummary:
    """Put every scored call where it belongs: the condition queues, and the day's sample of
    each agent (days in ``zone``, the PBX's time zone). Only adds; safe to run any time."""
    calls = _scored_calls(db)
    existing = {(q, c) for q, c in db.execute("select queue, call_id from queue_entries")}
    new: list[tuple[Queue, str, str, str]] = []  # queue, call, reason, day
    by_agent_day: dict[tuple[str, str], list[_Scored]] = defaultdict(list)
    for call in calls:
        day = call.start.astimezone(zone).date().isoformat()
        by_agent_day[(call.agent_key, day)].append(call)
        for queue, reason in _reasons(call, settings).items():
            if (queue.value, call.call_id) not in existing:
                new.append((queue, call.call_id, reason, day))
    for (agent, day), day_calls in sorted(by_agent_day.items()):
        wanted = max(1, math.ceil(settings.sample_rate * len(day_calls) - 1e-9))
        have = sum((Queue.SAMPLE.value, c.call_id) in existing for c in day_calls)
        ranked = sorted(
            (c for c in day_calls if (Queue.SAMPLE.value, c.call_id) not in existing),
            key=lambda c: sample_rank(settings.sample_seed, day, agent, c.call_id),
        )
        for call in ranked[: max(0, wanted - have)]:
            reason = f"{settings.sample_rate:.0%} sample of {call.agent_label}'s calls on {day}"
            new.append((Queue.SAMPLE, call.call_id, reason, day))
    added: dict[Queue, int] = dict.fromkeys(Queue, 0)
    if new:
        now = utcnow()
        with db.conn:
            for queue, call_id, reason, day in new:
                db.conn.execute(
                    "insert or ignore into queue_entries (queue, call_id, reason, day, added_at) "
                    "values (?, ?, ?, ?, ?)",
                    [queue.value, call_id, reason, day, now],
                )
                ensure_review(db, call_id)
                added[queue] += 1
        logger.info("review queues: added %s", {q.value: n for q, n in added.items() if n})
    return RefreshSummary(added)


_QUEUE_SQL = """
select e.queue, e.call_id, c.start, e.day, c.agent, c.agent_name, e.reason,
       (select sum(s.score) from scorecards s where s.call_id = c.call_id and s.id = (select
        max(s2.id) from scorecards s2 where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)),
       (select sum(s.max_score) from scorecards s where s.call_id = c.call_id and s.id = (select
        max(s2.id) from scorecards s2 where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)),
       (select min(s.passed) from scorecards s where s.call_id = c.call_id and s.id = (select
        max(s2.id) from scorecards s2 where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)),
       coalesce(r.status, 'new'), r.assignee
from queue_entries e
join calls c on c.call_id = e.call_id
left join reviews r on r.call_id = e.call_id
"""


def queue_calls(
    db: sqlite_utils.Database,
    queue: Queue | str | None = None,
    *,
    statuses: tuple[ReviewStatus, ...] | None = None,
    assignee: str | None = None,
    unassigned: bool = False,
    limit: int | None = None,
) -> list[QueueRow]:
    """The calls in ``queue`` (None: every queue, a call once per queue it is in), newest
    first; optionally only reviews in ``statuses``, assigned to ``assignee``, or unassigned."""
    where, params = [], []
    if queue is not None:
        where.append("e.queue = ?")
        params.append(Queue(queue).value)
    if statuses:
        where.append(f"coalesce(r.status, 'new') in ({','.join('?' * len(statuses))})")
        params += [ReviewStatus(s).value for s in statuses]
    if assignee is not None:
        where.append("r.assignee = ?")
        params.append(assignee)
    if unassigned:
        where.append("r.assignee is null")
    sql = _QUEUE_SQL + (" where " + " and ".join(where) if where else "")
    sql += " order by c.start desc, e.call_id, e.queue"
    if limit is not None:
        sql += " limit ?"
        params.append(int(limit))
    rows = []
    for row in db.execute(sql, params).fetchall():
        queue_name, call_id, start, day, agent, name, reason, score, most, passed = row[:10]
        rows.append(
            QueueRow(
                queue=Queue(queue_name),
                call_id=call_id,
                start=datetime.fromisoformat(start),
                day=day,
                agent=agent,
                agent_name=name,
                reason=reason or "",
                score=(100.0 * score / most if most else 0.0) if score is not None else None,
                passed=bool(passed) if passed is not None else None,
                status=ReviewStatus(row[10]),
                assignee=row[11],
            )
        )
    return rows


def queue_counts(db: sqlite_utils.Database) -> list[QueueCount]:
    """Every queue with its open (new or in review) and total calls, in queue order."""
    counts = {
        queue: (open_count or 0, total)
        for queue, open_count, total in db.execute(
            "select e.queue, sum(coalesce(r.status, 'new') in ('new', 'in_review')), count(*) "
            "from queue_entries e left join reviews r on r.call_id = e.call_id group by e.queue"
        ).fetchall()
    }
    return [QueueCount(q, *counts.get(q.value, (0, 0))) for q in Queue]
