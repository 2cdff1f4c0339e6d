"""Review queues: which scored calls people should look at, and why.

Six queues are computed from the machine's scorecards, flags, transcripts and sentiment::

    summary = refresh_queues(db, config.review, config.zone, config.agreement)  # safe to repeat
    rows = queue_calls(db, Queue.COMPLAINTS)                   # newest first, with review status

- ``complaints``: a complaint flag was raised;
- ``critical``: a critical item failed;
- ``low_score``: a scorecard earned under ``review.low_score`` of its points;
- ``low_confidence``: the transcript's word confidence or the role assignment's confidence is
  under its threshold (the machine may have misheard, or mixed up who is the agent);
- ``sentiment``: the customer's sentiment (``call_sentiment``) is negative: their start→end shift
  at or under ``review.negative_shift``, or their average at or under ``review.negative_mean``
  (neither set: the queue stays empty);
- ``sample``: a random sample of each agent's scored calls per local day, ``review.sample_rate``
  (10% by default, the source documents' rule), at least one call per agent-day with calls.

The sample is reproducible: each call's rank is a hash of the seed, the day, the agent and the
call id, and the lowest ranks are drawn. Queue entries are kept once made, so a call does not
leave the sample when more calls of that day arrive; the sample only grows to keep its share.
Every call put in a queue gets a review (status ``new``, unassigned).

A rule the site trusts (``[agreement]``, :func:`qa.review.agreement.trusted_rules`: reviewers kept
enough of its fails) sends no call to review: a critical failure, or a low score, that rests only
on trusted rules' fails queues nothing (the verdict stands and counts as any machine verdict);
the call may still be drawn by the sample, and is in any other queue whose reason it meets.
Likewise a flag the site trusts (:func:`qa.review.agreement.trusted_flags`: reviewers confirmed
enough of its raises): a call whose complaint flags are all trusted ones is not queued as a
complaint (its complaint case is opened as always; a flag raised on a guess still queues it for
low confidence).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlite_utils

from qa.config import AgreementSettings, ReviewSettings
from qa.review.agreement import trusted_flags, trusted_rules
from qa.review.state import ReviewStatus, ensure_review
from qa.sql import Filters, utcnow

__all__ = [
    "QUEUE_LABELS",
    "Queue",
    "QueueCount",
    "QueueRow",
    "RefreshSummary",
    "latest_scorecard_id",
    "queue_calls",
    "queue_counts",
    "queues_mark",
    "refresh_queues",
    "sample_rank",
]

logger = logging.getLogger(__name__)


class Queue(StrEnum):
    COMPLAINTS = "complaints"
    CRITICAL = "critical"
    LOW_SCORE = "low_score"
    LOW_CONFIDENCE = "low_confidence"
    SENTIMENT = "sentiment"
    SAMPLE = "sample"


QUEUE_LABELS = {
    Queue.COMPLAINTS: "Complaints",
    Queue.CRITICAL: "Critical failures",
    Queue.LOW_SCORE: "Low scores",
    Queue.LOW_CONFIDENCE: "Low transcript/role confidence",
    Queue.SENTIMENT: "Negative sentiment",
    Queue.SAMPLE: "Random sample",
}


@dataclass(frozen=True)
class RefreshSummary:
    """How many calls each queue gained, and lost, in one refresh; and how many calls a queue
    would hold but for trusted rules (their only reasons were trusted rules' fails)."""

    added: dict[Queue, int]
    withdrawn: dict[Queue, int] = field(default_factory=dict)
    trusted: dict[Queue, int] = field(default_factory=dict)

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


def sample_rank(seed: int, day: str, agent: str, call_id: str) -> str:
    """The call's place in its agent-day's draw: lower is drawn first. A hash, so the same
    seed, day, agent and call always give the same rank, and nobody can steer it."""
    return hashlib.sha256(f"{seed}\x1f{day}\x1f{agent}\x1f{call_id}".encode()).hexdigest()


# The latest version of each rubric per call (re-scoring keeps old rows), as in qa.results.store.
_LATEST = """
with latest as (
  select s.id, s.call_id, s.rubric_id, s.rubric_version, s.score, s.max_score from scorecards s
  where s.id = (select max(s2.id) from scorecards s2
                where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)
)
"""


Rule = tuple[str, str, str]  # rubric id, rubric version, item id


@dataclass(frozen=True)
class _Conditions:
    """The condition queues' calls with their reasons, and the calls each queue left out because
    only trusted rules' fails put them there."""

    reasons: dict[Queue, dict[str, str]]
    trusted: dict[Queue, set[str]]


def _condition_reasons(
    db: sqlite_utils.Database,
    settings: ReviewSettings,
    trusted: frozenset[Rule] = frozenset(),
    flags: frozenset[Rule] = frozenset(),
) -> _Conditions:
    """The condition queues' calls with their reasons, read from the scorecards' queryable rows
    (flags, item_results, scores, transcript confidences, sentiment figures) rather than whole
    scorecards, so a store of a year's calls is scanned in seconds. A critical failure or a low
    score resting only on ``trusted`` rules' fails puts no call in its queue, nor complaint flags
    that are all trusted ``flags`` (rubric id, version, flag id)."""
    found: dict[Queue, dict[str, list[str]]] = {queue: {} for queue in Queue}
    left_out: dict[Queue, set[str]] = {
        Queue.CRITICAL: set(), Queue.LOW_SCORE: set(), Queue.COMPLAINTS: set()
    }  # fmt: skip
    for call_id, rubric_id, version, flag_id, title, severity in db.execute(
        _LATEST + "select f.call_id, l.rubric_id, l.rubric_version, f.flag_id, f.title, "
        "f.severity from flags f join latest l on l.id = f.scorecard_id "
        "where f.flag_id like 'complaint%' and f.hint = 0 order by f.call_id, f.rowid"
    ):
        if (rubric_id, version, flag_id) in flags:
            left_out[Queue.COMPLAINTS].add(call_id)
            continue
        found[Queue.COMPLAINTS].setdefault(call_id, []).append(f"{title or flag_id} ({severity})")
    for call_id, flag_id, title in db.execute(
        _LATEST + "select f.call_id, f.flag_id, f.title from flags f "
        "join latest l on l.id = f.scorecard_id where f.hint = 1 order by f.call_id, f.rowid"
    ):
        # raised only on a guess about misheard words: a reviewer confirms or drops it
        found[Queue.LOW_CONFIDENCE].setdefault(call_id, []).append(
            f"{title or flag_id} heard approximately"
        )
    for call_id, rubric_id, version, item_id in db.execute(
        _LATEST + "select l.call_id, l.rubric_id, l.rubric_version, i.item_id from item_results i "
        "join latest l on l.id = i.scorecard_id where i.critical = 1 and i.result = 'fail' "
        "order by l.call_id, l.rubric_id, i.rowid"
    ):
        if (rubric_id, version, item_id) in trusted:
            left_out[Queue.CRITICAL].add(call_id)
            continue
        found[Queue.CRITICAL].setdefault(call_id, []).append(f"{rubric_id}/{item_id}")
    low_fails = _low_score_fails(db, settings) if trusted else {}
    for card_id, call_id, rubric_id, score, most in db.execute(
        _LATEST + "select id, call_id, rubric_id, score, max_score from latest "
        "where max_score > 0 and score < ? * max_score order by call_id, rubric_id",
        [settings.low_score],
    ):
        fails = low_fails.get(card_id)
        if fails and fails <= trusted:  # the points were lost on trusted rules' fails only
            left_out[Queue.LOW_SCORE].add(call_id)
            continue
        found[Queue.LOW_SCORE].setdefault(call_id, []).append(f"{rubric_id} {score / most:.0%}")
    for call_id, rubric_id, item_id, lowest in db.execute(
        _LATEST + "select l.call_id, l.rubric_id, i.item_id, min(json_extract(e.value, "
        "'$.confidence')) from item_results i join latest l on l.id = i.scorecard_id, "
        "json_each(i.evidence_json) e where json_extract(e.value, '$.confidence') < ? "
        "group by l.call_id, l.rubric_id, i.item_id order by l.call_id, l.rubric_id, i.rowid",
        [settings.low_confidence],
    ):
        # a verdict resting on words the recogniser was unsure of may rest on misheard ones
        found[Queue.LOW_CONFIDENCE].setdefault(call_id, []).append(
            f"{rubric_id}/{item_id} rests on words heard at {lowest:.0%}"
        )
    for call_id, confidence, role_confidence in db.execute(
        "select t.call_id, t.confidence, t.role_confidence from transcripts t "
        "where (t.confidence < ? or t.role_confidence < ?) "
        "and exists (select 1 from scorecards s where s.call_id = t.call_id)",
        [settings.low_confidence, settings.low_role_confidence],
    ):
        doubts = found[Queue.LOW_CONFIDENCE].setdefault(call_id, [])
        if confidence is not None and confidence < settings.low_confidence:
            doubts.append(f"transcript confidence {confidence:.0%}")
        if role_confidence is not None and role_confidence < settings.low_role_confidence:
            doubts.append(f"role confidence {role_confidence:.0%}")
    found[Queue.SENTIMENT] = _negative_sentiment(db, settings)
    prefixes = {
        Queue.COMPLAINTS: "",
        Queue.CRITICAL: "critical item failed: ",
        Queue.LOW_SCORE: f"score under {settings.low_score:.0%}: ",
        Queue.LOW_CONFIDENCE: "",
        Queue.SENTIMENT: "",
    }
    reasons = {
        queue: {call_id: prefix + ", ".join(parts) for call_id, parts in found[queue].items()}
        for queue, prefix in prefixes.items()
    }
    # a call another reason (another rubric's fail) still puts in the queue is not left out
    trusted_only = {queue: ids - reasons[queue].keys() for queue, ids in left_out.items()}
    return _Conditions(reasons, trusted_only)


def _low_score_fails(db: sqlite_utils.Database, settings: ReviewSettings) -> dict[int, set[Rule]]:
    """The failed rules of each low-scoring latest scorecard (by scorecard id)."""
    fails: dict[int, set[Rule]] = defaultdict(set)
    for card_id, rubric_id, version, item_id in db.execute(
        _LATEST + "select l.id, l.rubric_id, l.rubric_version, i.item_id from item_results i "
        "join latest l on l.id = i.scorecard_id where i.result = 'fail' "
        "and l.max_score > 0 and l.score < ? * l.max_score",
        [settings.low_score],
    ):
        fails[card_id].add((rubric_id, version, item_id))
    return fails


def _negative_sentiment(
    db: sqlite_utils.Database, settings: ReviewSettings
) -> dict[str, list[str]]:
    """The scored calls whose customer felt bad enough for ``settings`` (the stored
    ``call_sentiment`` figures), each with why."""
    shift, mean = settings.negative_shift, settings.negative_mean
    if shift is None and mean is None:
        return {}
    found: dict[str, list[str]] = {}
    for call_id, customer_mean, customer_shift in db.execute(
        "select t.call_id, t.customer_mean, t.customer_shift from call_sentiment t "
        "where (t.customer_shift <= ? or t.customer_mean <= ?) "
        "and exists (select 1 from scorecards s where s.call_id = t.call_id) order by t.call_id",
        [shift if shift is not None else -99.0, mean if mean is not None else -99.0],
    ):
        why = found.setdefault(call_id, [])
        if shift is not None and customer_shift is not None and customer_shift <= shift:
            why.append(f"customer sentiment moved {customer_shift:+.2f} start→end "
                       f"(at or under {shift:+.2f})")  # fmt: skip
        if mean is not None and customer_mean is not None and customer_mean <= mean:
            why.append(f"customer sentiment averaged {customer_mean:+.2f} "
                       f"(at or under {mean:+.2f})")  # fmt: skip
    return found


@dataclass(frozen=True)
class _Scored:
    call_id: str
    start: datetime
    agent_key: str
    agent_label: str


def _scored_calls(db: sqlite_utils.Database) -> list[_Scored]:
    """Every call with a scorecard: what the daily sample draws from."""
    rows = db.execute(
        "select c.call_id, c.start, coalesce(c.agent, c.agent_name, ''), "
        "coalesce(c.agent_name, c.agent, 'unknown agent') from calls c "
        "where exists (select 1 from scorecards s where s.call_id = c.call_id) "
        "order by c.start, c.call_id"
    ).fetchall()
    return [_Scored(row[0], datetime.fromisoformat(row[1]), row[2], row[3]) for row in rows]


def latest_scorecard_id(db: sqlite_utils.Database) -> int:
    """The newest scorecard's id (0: none): queues only change when it does, so a caller may
    skip :func:`refresh_queues` while it stays the same."""
    return db.execute("select coalesce(max(id), 0) from scorecards").fetchone()[0]


def queues_mark(db: sqlite_utils.Database) -> tuple[object, ...]:
    """What the queues are computed from, in brief: the newest scorecard, the latest review
    submission (it may make a rule trusted) and the stored sentiment figures. While it stays the
    same, :func:`refresh_queues` would change nothing, so a caller may skip it."""
    row = db.execute(
        "select (select coalesce(max(id), 0) from scorecards), "
        "(select coalesce(sum(revision), 0) from reviews), "
        "(select max(submitted_at) from reviews), "
        "(select count(*) from call_sentiment), (select max(created_at) from call_sentiment)"
    ).fetchone()
    return tuple(row)


def refresh_queues(
    db: sqlite_utils.Database,
    settings: ReviewSettings,
    zone: ZoneInfo,
    agreement: AgreementSettings | None = None,
) -> RefreshSummary:
    """Put every scored call where it belongs: the condition queues, and the day's sample of
    each agent (days in ``zone``, the PBX's time zone). Safe to run any time. With
    ``agreement`` (the site's ``[agreement]``), the rules it trusts queue no call by their fails.

    A call leaves a condition queue when it no longer meets the condition (re-scored with a new
    rubric version, or the thresholds changed) while nobody has touched its review yet (status
    new, no assignee); once a reviewer has it, it stays. Sample picks are never withdrawn."""
    existing = {(q, c) for q, c in db.execute("select queue, call_id from queue_entries")}
    calls = _scored_calls(db)
    days = {call.call_id: call.start.astimezone(zone).date().isoformat() for call in calls}
    new: list[tuple[Queue, str, str, str]] = []  # queue, call, reason, day
    found = _condition_reasons(
        db,
        settings,
        trusted_rules(db, agreement) if agreement else frozenset(),
        trusted_flags(db, agreement) if agreement else frozenset(),
    )
    conditions = found.reasons
    withdrawn = _withdraw_stale(db, conditions)
    existing -= {
        (queue.value, call_id) for queue, call_ids in withdrawn.items() for call_id in call_ids
    }
    for queue, reasons in conditions.items():
        for call_id, reason in reasons.items():
            if (queue.value, call_id) not in existing and call_id in days:
                new.append((queue, call_id, reason, days[call_id]))
    by_agent_day: dict[tuple[str, str], list[_Scored]] = defaultdict(list)
    for call in calls:
        by_agent_day[(call.agent_key, days[call.call_id])].append(call)
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
    if any(found.trusted.values()):
        logger.info("review queues: left to trusted rules %s",
                    {q.value: len(ids) for q, ids in found.trusted.items() if ids})  # fmt: skip
    return RefreshSummary(
        added,
        {queue: len(ids) for queue, ids in withdrawn.items() if ids},
        {queue: len(ids) for queue, ids in found.trusted.items() if ids},
    )


def _withdraw_stale(
    db: sqlite_utils.Database, conditions: dict[Queue, dict[str, str]]
) -> dict[Queue, list[str]]:
    """Remove condition-queue entries whose call no longer meets the condition and whose review
    nobody has touched; return what was removed, per queue."""
    untouched = db.execute(
        "select e.queue, e.call_id from queue_entries e "
        "left join reviews r on r.call_id = e.call_id "
        "where e.queue != ? and coalesce(r.status, 'new') = 'new' and r.assignee is null",
        [Queue.SAMPLE.value],
    ).fetchall()
    stale: dict[Queue, list[str]] = defaultdict(list)
    for queue_name, call_id in untouched:
        queue = Queue(queue_name)
        if call_id not in conditions.get(queue, {}):
            stale[queue].append(call_id)
    if stale:
        with db.conn:
            for queue, call_ids in stale.items():
                db.conn.executemany(
                    "delete from queue_entries where queue = ? and call_id = ?",
                    [(queue.value, call_id) for call_id in call_ids],
                )
        logger.info(
            "review queues: withdrawn (condition no longer met) %s",
            {q.value: len(ids) for q, ids in stale.items()},
        )
    return dict(stale)


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
    where = Filters()
    if queue is not None:
        where.add("e.queue = ?", Queue(queue).value)
    if statuses:
        where.add_in("coalesce(r.status, 'new')", [ReviewStatus(s).value for s in statuses])
    if assignee is not None:
        where.add("r.assignee = ?", assignee)
    if unassigned:
        where.add("r.assignee is null")
    sql = _QUEUE_SQL + where.sql() + " order by c.start desc, e.call_id, e.queue"
    params = where.params
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
