"""A site's sampling plan, as data: which scored calls it draws for review, and what is left.

The plan is ``[sampling]`` in the config (qa.config.SamplingPlan). Per agent and local day it
draws ``daily_share`` of the agent's scored calls (rounded up), topped up to
``min_per_agent_day``; for an agent whose reviewed call failed, ``extra_after_fail`` more calls a
day on each of the next ``extra_days`` days; per agent and ISO week a second tier of
``weekly_share`` of the week's calls not drawn already. Reviewers take the day's draws in turn up
to their ``reviewer_quotas``. The order is a hash of the seed, the day (or week), the agent and the
call (qa.review.queues.sample_rank), so the same plan over the same calls always draws the same::

    draws = draw_plan(db, config.sampling, zone=config.zone, since=day, until=day)
    for d in draws: d.day, d.agent, d.call_id, d.tier, d.reviewer, d.reviewed
    summary = plan_summary(draws, counts)      # per day and agent: drawn per tier, left to review

Drawing changes nothing in the store: it is a report of what the plan picks (the review queues'
own daily sample is ``[review] sample_rate``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import sqlite_utils

from qa.config import SamplingPlan
from qa.review.queues import sample_rank
from qa.review.state import ReviewStatus
from qa.sql import Filters

__all__ = ["Draw", "PlanRow", "draw_plan", "plan_summary"]

TIERS = ("daily", "minimum", "extra", "weekly")


@dataclass(frozen=True)
class Draw:
    """One call the plan drew: why (its tier), who takes it, whether it was reviewed."""

    day: date
    agent: str
    call_id: str
    tier: str  # daily | minimum | extra | weekly
    reviewer: str | None
    reviewed: bool

    def to_json(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(), "agent": self.agent, "call_id": self.call_id,
            "tier": self.tier, "reviewer": self.reviewer, "reviewed": self.reviewed,
        }  # fmt: skip


@dataclass(frozen=True)
class PlanRow:
    """One agent's day: their scored calls, what the plan drew per tier, and what is left."""

    day: date
    agent: str
    calls: int
    drawn: dict[str, int]
    reviewed: int

    @property
    def left(self) -> int:
        return sum(self.drawn.values()) - self.reviewed


@dataclass(frozen=True)
class _Call:
    call_id: str
    agent: str
    day: date
    failed_check: bool  # a submitted review that failed the call
    reviewed: bool


def _calls(
    db: sqlite_utils.Database, since: date | None, until: date | None, tz: tzinfo
) -> list[_Call]:
    where = Filters()
    where.add("exists (select 1 from scorecards s where s.call_id = c.call_id)")
    # A day either side in UTC holds every local day (zones are within UTC±14h); the weekly
    # tier needs the whole ISO weeks around the range.
    if since is not None:
        where.add("c.start >= ?", (since - timedelta(days=8)).isoformat())
    if until is not None:
        where.add("c.start < ?", (until + timedelta(days=8)).isoformat())
    rows = db.execute(
        "select c.call_id, coalesce(c.agent, c.agent_name, '?'), c.start, "
        "(select min(rs.passed) from review_scorecards rs join reviews r "
        " on r.review_id = rs.review_id where rs.call_id = c.call_id and r.status in (?, ?)), "
        "(select count(*) from reviews r where r.call_id = c.call_id and r.revision > 0) "
        "from calls c" + where.sql() + " order by c.start, c.call_id",
        [ReviewStatus.DONE.value, ReviewStatus.DISPUTED.value, *where.params],
    ).fetchall()
    return [
        _Call(call_id, agent, datetime.fromisoformat(start).astimezone(tz).date(),
              passed == 0, bool(reviews))
        for call_id, agent, start, passed, reviews in rows
    ]  # fmt: skip


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def draw_plan(
    db: sqlite_utils.Database,
    plan: SamplingPlan,
    *,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[Draw]:
    """What ``plan`` draws from the scored calls of the local days ``since``..``until``
    (inclusive), by day, agent and tier; the weekly tier of a week counts when the week's first
    day is in the range."""
    calls = _calls(db, since, until, tz)
    by_day: dict[tuple[date, str], list[_Call]] = defaultdict(list)
    failures: dict[str, list[date]] = defaultdict(list)
    for call in calls:
        by_day[(call.day, call.agent)].append(call)
        if call.failed_check:
            failures[call.agent].append(call.day)
    drawn: list[tuple[_Call, str]] = []
    taken: set[str] = set()
    for (day, agent), group in sorted(by_day.items()):
        ranked = sorted(group, key=lambda c: sample_rank(plan.seed, day.isoformat(), agent,
                                                         c.call_id))  # fmt: skip
        share = math.ceil(plan.daily_share * len(ranked) - 1e-9)
        minimum = min(plan.min_per_agent_day, len(ranked))
        extra = plan.extra_after_fail if any(
            day - timedelta(days=plan.extra_days) <= failed < day for failed in failures[agent]
        ) else 0  # fmt: skip
        tiers = ["daily"] * share + ["minimum"] * max(0, minimum - share) + ["extra"] * extra
        for call, tier in zip(ranked, tiers, strict=False):
            drawn.append((call, tier))
            taken.add(call.call_id)
    by_week: dict[tuple[str, str], list[_Call]] = defaultdict(list)
    for call in calls:
        by_week[(_week(call.day), call.agent)].append(call)
    for (week, agent), group in sorted(by_week.items()):
        count = math.ceil(plan.weekly_share * len(group) - 1e-9)
        rest = sorted((c for c in group if c.call_id not in taken),
                      key=lambda c: sample_rank(plan.seed, week, agent, c.call_id))  # fmt: skip
        for call in rest[:count]:
            drawn.append((call, "weekly"))
    in_range = [
        (call, tier) for call, tier in drawn
        if (since is None or call.day >= since) and (until is None or call.day <= until)
    ]  # fmt: skip
    return _assign(in_range, plan)


def _assign(drawn: Sequence[tuple[_Call, str]], plan: SamplingPlan) -> list[Draw]:
    """Reviewers take each day's draws in turn, up to their quotas."""
    used: dict[tuple[date, str], int] = defaultdict(int)
    names = sorted(plan.reviewer_quotas)
    turn = 0
    out = []
    for call, tier in sorted(drawn, key=lambda pair: (pair[0].day, pair[0].agent,
                                                      TIERS.index(pair[1]))):  # fmt: skip
        reviewer = None
        for step in range(len(names)):
            name = names[(turn + step) % len(names)]
            if used[(call.day, name)] < plan.reviewer_quotas[name]:
                reviewer, turn = name, (turn + step + 1) % len(names)
                used[(call.day, name)] += 1
                break
        out.append(Draw(call.day, call.agent, call.call_id, tier, reviewer, call.reviewed))
    return out


def plan_summary(
    db: sqlite_utils.Database,
    draws: Sequence[Draw],
    *,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[PlanRow]:
    """Per local day and agent with scored calls: how many, what the plan drew per tier, how
    many of those were reviewed (the rest is left to review)."""
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for call in _calls(db, since, until, tz):
        if (since is None or call.day >= since) and (until is None or call.day <= until):
            counts[(call.day, call.agent)] += 1
    tiers: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(TIERS, 0))
    reviewed: dict[tuple[date, str], int] = defaultdict(int)
    for d in draws:
        tiers[(d.day, d.agent)][d.tier] += 1
        reviewed[(d.day, d.agent)] += d.reviewed
    return [
        PlanRow(day, agent, n, tiers[(day, agent)], reviewed[(day, agent)])
        for (day, agent), n in sorted(counts.items())
    ]
