"""Agent performance records: per agent and period, what QA found, with reviewers' verdicts winning.

Usage::

    for record in agent_records(db, period=Period.WEEK, since=date(2026, 11, 1), tz=site_zone):
        record.label, record.period_label, record.average_score, record.rank, record.team_size

A record counts the calls scored and reviewed, the average score and pass rate, each item's pass
rate, critical failures, complaints with the status of their cases, and what followed the
evaluations: how many the agent acknowledged and appealed, and how many appeals were overturned
(qa.review.appeals; an overturned item already counts in the scores). Where a reviewer submitted
a result for a call, that result counts instead of the machine's (:func:`scored_calls`). Days,
weeks (ISO, Monday first) and months are the site's local ones (``tz``). An agent's rank is
within the team, that is every agent with scored calls in the same period: by average score,
then pass rate; agents with equal figures share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.records.complaints import CaseStatus, is_complaint_flag, list_cases
from qa.results.store import CALL_HEADER_COLUMNS, UNKNOWN_AGENT, CallHeader, HasCallHeader
from qa.review.appeals import FollowUp, follow_up
from qa.review.state import ReviewedScorecard, effective_scorecards

__all__ = [
    "AgentRecord",
    "Period",
    "ScoredCall",
    "agent_records",
    "agent_trend",
    "local_day",
    "period_label",
    "period_start",
    "scored_calls",
]


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def local_day(when: datetime, tz: tzinfo = UTC) -> date:
    """The site's calendar day of a UTC time."""
    return when.astimezone(tz).date()


def period_start(day: date, period: Period) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday)."""
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    return day


def period_label(start: date, period: Period | None) -> str:
    """``2026-11-20`` (day), ``2026-W47`` (ISO week), ``2026-11`` (month); ``all`` for none."""
    if period is None:
        return "all"
    if period == Period.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period == Period.MONTH:
        return start.strftime("%Y-%m")
    return start.isoformat()


@dataclass(frozen=True)
class ScoredCall(HasCallHeader):
    """A scored call with its latest scorecard per rubric, each with the reviewer's result where
    a submitted review covers it (:func:`qa.review.state.effective_scorecards`)."""

    header: CallHeader
    recording: str  # relative to the store; a two-leg call shows its first leg
    cards: tuple[ReviewedScorecard, ...]
    truncated: str | None = None  # why the recording is shorter than the call (audio_check)

    @property
    def counts_for_agent(self) -> bool:
        """Whether the call counts in agent records: a call cut short counts only once a
        reviewer has checked it (its scores may judge a fragment of the call)."""
        return not self.truncated or self.reviewed

    @property
    def machine(self) -> tuple[Scorecard, ...]:
        """The machine's scorecards, as scored."""
        return tuple(card.machine for card in self.cards)

    @property
    def effective(self) -> tuple[Scorecard, ...]:
        """The scorecards that count: human verdicts applied where the call was reviewed."""
        return tuple(card.card for card in self.cards)

    @property
    def reviewed(self) -> bool:
        """Whether a reviewer's submitted result counts for any of its scorecards."""
        return any(card.reviewed for card in self.cards)

    @property
    def agent_key(self) -> str | None:
        """The agent id, or the queue member name of an agent not in the directory."""
        return self.agent or self.agent_name


_SCORED_CALLS = f"""
select {CALL_HEADER_COLUMNS}, c.recordings, c.truncated
from calls c left join transcripts t on t.call_id = c.call_id
where exists (select 1 from scorecards s where s.call_id = c.call_id)
"""


def scored_calls(
    db: sqlite_utils.Database,
    *,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    tz: tzinfo = UTC,
) -> list[ScoredCall]:
    """Scored calls, oldest first, whose local day is within ``since``..``until`` (inclusive);
    ``agent`` matches the agent id or name."""
    sql, params = _SCORED_CALLS, []
    # A day later and earlier in UTC hold every local day (zones are within UTC±14h).
    if since is not None:
        sql += " and c.start >= ?"
        params.append((since - timedelta(days=1)).isoformat())
    if until is not None:
        sql += " and c.start < ?"
        params.append((until + timedelta(days=2)).isoformat())
    if agent is not None:
        sql += " and (c.agent = ? or c.agent_name = ?)"
        params += [agent, agent]
    rows = []
    for row in db.execute(sql + " order by c.start, c.call_id", params).fetchall():
        header = CallHeader.from_row(row)
        day = local_day(header.start, tz)
        if (since is None or day >= since) and (until is None or day <= until):
            rows.append((header, row))
    cards = effective_scorecards(db, [header.call_id for header, _ in rows])
    return [
        ScoredCall(
            header=header,
            recording=(json.loads(row[7] or "[]") or [""])[0],
            cards=cards[header.call_id],
            truncated=row[8],
        )
        for header, row in rows
        if header.call_id in cards
    ]


@dataclass(frozen=True)
class AgentRecord:
    """One agent's QA results in one period (or the whole range when ``period`` is None)."""

    agent: str | None
    name: str | None
    period: Period | None
    period_start: date | None
    calls_scored: int
    calls_reviewed: int
    average_score: float  # percent of the applicable points, averaged over scorecards
    pass_rate: float  # fraction of scorecards passed
    item_pass_rates: dict[str, float] = field(default_factory=dict)  # pass / (pass + fail)
    critical_failures: int = 0  # critical items failed
    complaints: int = 0  # calls with a complaint flag or case
    complaint_cases: dict[str, int] = field(default_factory=dict)  # case status -> count
    rank: int | None = None  # 1 = best in the team for the period; None for unknown agents
    team_size: int = 0
    # What followed the evaluations (submitted reviews): qa.review.appeals
    evaluations: int = 0  # calls with a submitted evaluation
    acknowledged: int = 0  # of them, acknowledged by the agent (the current revision)
    appealed: int = 0  # of them, with at least one appeal
    appeals_decided: int = 0  # appeals upheld or overturned
    overturned: int = 0  # appeals overturned

    @property
    def acknowledgement_rate(self) -> float | None:
        """Evaluations acknowledged / evaluations (None: no evaluation)."""
        return self.acknowledged / self.evaluations if self.evaluations else None

    @property
    def appeal_rate(self) -> float | None:
        """Evaluations appealed / evaluations (None: no evaluation)."""
        return self.appealed / self.evaluations if self.evaluations else None

    @property
    def overturn_rate(self) -> float | None:
        """Appeals overturned / appeals decided (None: none decided)."""
        return self.overturned / self.appeals_decided if self.appeals_decided else None

    @property
    def label(self) -> str:
        return self.name or self.agent or UNKNOWN_AGENT

    @property
    def key(self) -> str | None:
        return self.agent or self.name

    @property
    def period_label(self) -> str:
        return period_label(self.period_start, self.period) if self.period_start else "all"


def _follow_up_figures(calls: Sequence[ScoredCall], follow: dict[str, FollowUp]) -> dict:
    found = [follow[call.call_id] for call in calls if call.call_id in follow]
    return {
        "evaluations": len(found),
        "acknowledged": sum(f.acknowledged for f in found),
        "appealed": sum(f.appeals > 0 for f in found),
        "appeals_decided": sum(f.decided for f in found),
        "overturned": sum(f.overturned for f in found),
    }


def _figures(calls: Sequence[ScoredCall], complaint_calls: set[str]) -> dict:
    cards = [card for call in calls for card in call.effective]
    percents = [100.0 * c.score / c.max_score if c.max_score else 0.0 for c in cards]
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    critical = 0
    for card in cards:
        for item in card.items:
            if item.result == Verdict.PASS:
                tallies[item.id][0] += 1
            elif item.result == Verdict.FAIL:
                tallies[item.id][1] += 1
                critical += item.critical
    flagged = {
        call.call_id
        for call in calls
        if any(is_complaint_flag(f.id) for card in call.effective for f in card.flags)
    }
    ids = {call.call_id for call in calls}
    return {
        "calls_scored": len(ids),
        "calls_reviewed": sum(call.reviewed for call in calls),
        "average_score": sum(percents) / len(percents) if percents else 0.0,
        "pass_rate": sum(c.passed for c in cards) / len(cards) if cards else 0.0,
        "item_pass_rates": {
            item: passed / (passed + failed)
            for item, (passed, failed) in sorted(tallies.items())
            if passed + failed
        },
        "critical_failures": critical,
        "complaints": len(flagged | (complaint_calls & ids)),
    }


def _ranked(records: list[AgentRecord]) -> list[AgentRecord]:
    """The records with rank and team size filled, per period."""
    by_period: dict[date | None, list[AgentRecord]] = defaultdict(list)
    for record in records:
        by_period[record.period_start].append(record)
    out = []
    for group in by_period.values():
        team = [r for r in group if r.key is not None]
        order = sorted(team, key=lambda r: (-round(r.average_score, 6), -round(r.pass_rate, 6)))
        ranks: dict[int, int] = {}
        for position, record in enumerate(order, start=1):
            previous = order[position - 2] if position > 1 else None
            same = previous is not None and (
                round(previous.average_score, 6),
                round(previous.pass_rate, 6),
            ) == (round(record.average_score, 6), round(record.pass_rate, 6))
            ranks[id(record)] = ranks[id(previous)] if same else position
        for record in group:
            rank = ranks.get(id(record))
            out.append(replace(record, rank=rank, team_size=len(team)))
    return out


def agent_records(
    db: sqlite_utils.Database,
    *,
    period: Period | str | None = None,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    tz: tzinfo = UTC,
) -> list[AgentRecord]:
    """Per agent (and per period when ``period`` is given): the QA record, ranked within the
    team. Sorted by period, then agent id (unknown agents last). ``agent`` keeps one agent's
    records (the rank is still within the whole team)."""
    period = Period(period) if period is not None else None
    calls = [
        call for call in scored_calls(db, since=since, until=until, tz=tz) if call.counts_for_agent
    ]
    follow = follow_up(db, [call.call_id for call in calls])
    cases = list_cases(db)
    statuses: dict[str, list[CaseStatus]] = defaultdict(list)
    for case in cases:
        statuses[case.call_id].append(case.status)
    groups: dict[tuple[date | None, str | None, str | None], list[ScoredCall]] = defaultdict(list)
    for call in calls:
        start = period_start(local_day(call.start, tz), period) if period else None
        # An agent not in the directory is still told apart by the queue member name.
        groups[(start, call.agent, None if call.agent else call.agent_name)].append(call)
    records = []
    for (start, agent_id, member), group in groups.items():
        case_counts: dict[str, int] = defaultdict(int)
        for call in group:
            for status in statuses.get(call.call_id, ()):
                case_counts[status.value] += 1
        records.append(
            AgentRecord(
                agent=agent_id,
                name=group[0].agent_name if agent_id else member,
                period=period,
                period_start=start,
                complaint_cases=dict(sorted(case_counts.items())),
                **_figures(group, set(statuses)),
                **_follow_up_figures(group, follow),
            )
        )
    records = _ranked(records)
    if agent is not None:
        records = [r for r in records if agent in (r.agent, r.name)]
    records.sort(key=lambda r: (r.period_start or date.min, r.agent is None, r.agent or "",
                                r.name or ""))  # fmt: skip
    return records


def agent_trend(
    db: sqlite_utils.Database,
    agent: str,
    period: Period | str = Period.WEEK,
    *,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[AgentRecord]:
    """One agent's records per period, oldest first: the series the Agents tab plots."""
    return agent_records(db, period=period, since=since, until=until, agent=agent, tz=tz)
