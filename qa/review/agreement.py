"""How often reviewers agree with the machine, per rubric item and rubric version.

Every submitted review stores the reviewer's decision on each item beside the machine's verdict
(qa.review.submit; an overturned appeal updates it, qa.review.appeals). Counted per rule::

    for rule in rule_agreement(db, settings=config.agreement):
        rule.rubric_id, rule.rubric_version, rule.item_id
        rule.confirmed, rule.rejected, rule.overridden       # reviewers' decisions
        rule.fail_precision    # machine fails the reviewer kept as fails / machine fails
        rule.status            # "trusted", "attention" or "" (too few decisions, or between)
        rule.calls["false_fail"]   # the calls behind a number

- ``fail_precision``: of the items the machine failed, the share the human verdict keeps failed.
- ``pass_precision``: likewise for passes (a low one means the rule misses failures).
- ``agreement``: the share of decisions where the human verdict is the machine's.

A rule is judged once it has ``min_decisions`` decisions (``[agreement]`` in the config): below
``attention_floor`` fail precision it is marked ``attention`` (its fails are often wrong); at or
above ``skip_review_precision`` (when the site sets it) it is ``trusted``: its fails may skip
review.

Flags likewise (:func:`flag_agreement`): reviewers confirm or reject each flag the machine raised
and add the ones it missed (qa.review.flag_decisions)::

    for flag in flag_agreement(db, settings=config.agreement):
        flag.raised            # raised on reviewed calls
        flag.confirmed, flag.rejected, flag.added     # added: the machine missed it
        flag.precision         # confirmed / (confirmed + rejected)
        flag.recall            # confirmed / (confirmed + added): of the flags reviewers saw
        flag.status            # as for rules, on precision over confirmed + rejected decisions
        flag.calls["rejected"] # the calls behind a number (also "confirmed", "added", "undecided")

A flag ``trusted`` (:func:`trusted_flags`) keeps a call out of the complaints queue when it is the
call's only reason to be there (qa.review.queues).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils

from calldata import Scorecard, Verdict
from qa.config import AgreementSettings
from qa.review.state import Decision, ReviewStatus
from qa.sql import Filters

__all__ = [
    "FLAG_CALL_KINDS",
    "FlagAgreement",
    "FlagCount",
    "RuleAgreement",
    "flag_agreement",
    "flag_counts",
    "rule_agreement",
    "trusted_flags",
    "trusted_rules",
]

CALL_KINDS = ("rejected", "overridden", "false_fail", "false_pass")


@dataclass(frozen=True)
class RuleAgreement:
    """Reviewers' decisions on one rubric item of one rubric version."""

    rubric_id: str
    rubric_version: str
    item_id: str
    decisions: int
    confirmed: int
    rejected: int
    overridden: int
    machine_fail: int  # items the machine failed
    fail_kept: int  # of them, still fail after review
    machine_pass: int
    pass_kept: int
    calls: dict[str, tuple[str, ...]] = field(default_factory=dict)  # CALL_KINDS -> call ids
    status: str = ""  # trusted | attention | ""

    @property
    def fail_precision(self) -> float | None:
        return self.fail_kept / self.machine_fail if self.machine_fail else None

    @property
    def pass_precision(self) -> float | None:
        return self.pass_kept / self.machine_pass if self.machine_pass else None

    @property
    def agreement(self) -> float | None:
        return self.confirmed / self.decisions if self.decisions else None

    @property
    def rule(self) -> str:
        return f"{self.rubric_id}/{self.item_id}"

    def to_json(self) -> dict[str, object]:
        def rate(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "rubric_id": self.rubric_id,
            "rubric_version": self.rubric_version,
            "item_id": self.item_id,
            "decisions": self.decisions,
            "confirmed": self.confirmed,
            "rejected": self.rejected,
            "overridden": self.overridden,
            "machine_fail": self.machine_fail,
            "fail_kept": self.fail_kept,
            "fail_precision": rate(self.fail_precision),
            "machine_pass": self.machine_pass,
            "pass_kept": self.pass_kept,
            "pass_precision": rate(self.pass_precision),
            "agreement": rate(self.agreement),
            "status": self.status,
            "calls": {kind: list(ids) for kind, ids in self.calls.items()},
        }


@dataclass(frozen=True)
class FlagCount:
    """How often a flag was raised on reviewed calls (reviewers do not decide flags yet)."""

    rubric_id: str
    rubric_version: str
    flag_id: str
    raised: int
    calls: tuple[str, ...]


_DECISIONS_SQL = """
select i.call_id, c.start, i.rubric_id, i.rubric_version, i.item_id, i.decision,
       i.machine_verdict, i.verdict
from review_items i
join reviews r on r.review_id = i.review_id
join calls c on c.call_id = i.call_id
"""


def _in_range(start: str, since: date | None, until: date | None, tz: tzinfo) -> bool:
    day = datetime.fromisoformat(start).astimezone(tz).date()
    return (since is None or day >= since) and (until is None or day <= until)


def _where(
    rubric: str | None,
    agent: str | None,
    since: date | None,
    until: date | None,
    rubric_column: str = "i.rubric_id",
) -> Filters:
    """Submitted reviews, of ``rubric``, of ``agent``'s calls, around ``since``..``until``."""
    where = Filters()
    where.add_in("r.status", [ReviewStatus.DONE.value, ReviewStatus.DISPUTED.value])
    if rubric is not None:
        where.add(f"{rubric_column} = ?", rubric)
    if agent is not None:
        where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
    # A day either side in UTC holds every local day (zones are within UTC±14h).
    if since is not None:
        where.add("c.start >= ?", (since - timedelta(days=1)).isoformat())
    if until is not None:
        where.add("c.start < ?", (until + timedelta(days=2)).isoformat())
    return where


def _status(rule: RuleAgreement, settings: AgreementSettings) -> str:
    return _judged(rule.decisions, rule.fail_precision, settings)


def _judged(decisions: int, precision: float | None, settings: AgreementSettings) -> str:
    """``attention``, ``trusted`` or "" for a precision over ``decisions`` under ``settings``."""
    if decisions < settings.min_decisions or precision is None:
        return ""
    if precision < settings.attention_floor:
        return "attention"
    skip = settings.skip_review_precision
    return "trusted" if skip is not None and precision >= skip else ""


def rule_agreement(
    db: sqlite_utils.Database,
    *,
    settings: AgreementSettings | None = None,
    rubric: str | None = None,
    agent: str | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[RuleAgreement]:
    """Per rubric, version and item (sorted so): reviewers' decisions against the machine over
    the submitted reviews of calls whose local day is ``since``..``until`` (of ``agent``,
    of ``rubric``), each with its status under ``settings``."""
    settings = settings or AgreementSettings()
    where = _where(rubric, agent, since, until)
    rows = db.execute(_DECISIONS_SQL + where.sql(), where.params).fetchall()
    tallies: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    calls: dict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for call_id, start, rubric_id, version, item_id, decision, machine, human in rows:
        if not _in_range(start, since, until, tz):
            continue
        key = (rubric_id, version, item_id)
        tally = tallies[key]
        tally["decisions"] += 1
        tally[Decision(decision).value] += 1
        if decision != Decision.CONFIRMED.value:
            calls[key][decision].append(call_id)
        if machine == Verdict.FAIL.value:
            tally["machine_fail"] += 1
            if human == Verdict.FAIL.value:
                tally["fail_kept"] += 1
            else:
                calls[key]["false_fail"].append(call_id)
        elif machine == Verdict.PASS.value:
            tally["machine_pass"] += 1
            if human == Verdict.PASS.value:
                tally["pass_kept"] += 1
            else:
                calls[key]["false_pass"].append(call_id)
    found = []
    for key in sorted(tallies):
        t = tallies[key]
        rule = RuleAgreement(
            rubric_id=key[0], rubric_version=key[1], item_id=key[2],
            decisions=t["decisions"], confirmed=t["confirmed"], rejected=t["rejected"],
            overridden=t["overridden"], machine_fail=t["machine_fail"],
            fail_kept=t["fail_kept"], machine_pass=t["machine_pass"], pass_kept=t["pass_kept"],
            calls={kind: tuple(sorted(set(calls[key][kind]))) for kind in CALL_KINDS
                   if calls[key][kind]},
        )  # fmt: skip
        found.append(replace(rule, status=_status(rule, settings)))
    return found


def trusted_rules(
    db: sqlite_utils.Database, settings: AgreementSettings
) -> frozenset[tuple[str, str, str]]:
    """(rubric id, rubric version, item id) of every rule ``settings`` marks ``trusted``, over
    all submitted reviews; none while the site sets no ``skip_review_precision``."""
    if settings.skip_review_precision is None:
        return frozenset()
    return _trusted(rule_agreement(db, settings=settings), lambda r: r.item_id)


def flag_counts(
    db: sqlite_utils.Database,
    *,
    rubric: str | None = None,
    agent: str | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[FlagCount]:
    """Per rubric, version and flag: how often the machine raised it on the scorecards that
    submitted reviews cover."""
    where = _where(rubric, agent, since, until, rubric_column="s.rubric_id")
    sql = (
        "select rs.call_id, c.start, s.scorecard_json from review_scorecards rs "
        "join reviews r on r.review_id = rs.review_id join scorecards s on s.id = rs.scorecard_id "
        "join calls c on c.call_id = rs.call_id" + where.sql()
    )
    raised: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for call_id, start, card_json in db.execute(sql, where.params).fetchall():
        if not _in_range(start, since, until, tz):
            continue
        card = Scorecard.model_validate_json(card_json)
        for flag in card.flags:
            raised[(card.rubric_id, card.rubric_version, flag.id)].append(call_id)
    return [
        FlagCount(key[0], key[1], key[2], len(ids), tuple(sorted(set(ids))))
        for key, ids in sorted(raised.items())
    ]


FLAG_CALL_KINDS = ("confirmed", "rejected", "added", "undecided")


@dataclass(frozen=True)
class FlagAgreement:
    """Reviewers' decisions on one flag of one rubric version."""

    rubric_id: str
    rubric_version: str
    flag_id: str
    raised: int  # raised by the machine on reviewed calls
    confirmed: int
    rejected: int
    added: int  # reviewers added it: the machine missed it
    calls: dict[str, tuple[str, ...]] = field(default_factory=dict)  # FLAG_CALL_KINDS -> ids
    status: str = ""  # trusted | attention | ""

    @property
    def decided(self) -> int:
        """Decisions on the machine's own flags (confirmed or rejected)."""
        return self.confirmed + self.rejected

    @property
    def precision(self) -> float | None:
        return self.confirmed / self.decided if self.decided else None

    @property
    def recall(self) -> float | None:
        found = self.confirmed + self.added
        return self.confirmed / found if found else None

    @property
    def undecided(self) -> int:
        return len(self.calls.get("undecided", ()))

    @property
    def flag(self) -> str:
        return f"{self.rubric_id}/flag:{self.flag_id}"

    def to_json(self) -> dict[str, object]:
        def rate(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "rubric_id": self.rubric_id, "rubric_version": self.rubric_version,
            "flag_id": self.flag_id, "raised": self.raised, "decided": self.decided,
            "confirmed": self.confirmed, "rejected": self.rejected, "added": self.added,
            "undecided": self.undecided, "precision": rate(self.precision),
            "recall": rate(self.recall), "status": self.status,
            "calls": {kind: list(ids) for kind, ids in self.calls.items()},
        }  # fmt: skip


_FLAG_DECISIONS_SQL = """
select f.call_id, c.start, f.rubric_id, f.rubric_version, f.flag_id, f.decision
from review_flags f
join reviews r on r.review_id = f.review_id
join calls c on c.call_id = f.call_id
"""


def flag_agreement(
    db: sqlite_utils.Database,
    *,
    settings: AgreementSettings | None = None,
    rubric: str | None = None,
    agent: str | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo = UTC,
) -> list[FlagAgreement]:
    """Per rubric, version and flag (sorted so), over the submitted reviews of calls whose local
    day is ``since``..``until`` (of ``agent``, of ``rubric``): how often the machine raised it,
    how reviewers decided (confirmed, rejected, added where it was missed) and the flag's status
    under ``settings`` (on its precision). A raised flag no reviewer decided (a review submitted
    without flag decisions) is ``undecided``."""
    settings = settings or AgreementSettings()
    where = _where(rubric, agent, since, until, rubric_column="f.rubric_id")
    rows = db.execute(_FLAG_DECISIONS_SQL + where.sql(), where.params).fetchall()
    raised = {
        (f.rubric_id, f.rubric_version, f.flag_id): f
        for f in flag_counts(db, rubric=rubric, agent=agent, since=since, until=until, tz=tz)
    }
    calls: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for call_id, start, rubric_id, version, flag_id, decision in rows:
        if _in_range(start, since, until, tz):
            calls[(rubric_id, version, flag_id)][decision].add(call_id)
    found = []
    for key in sorted(raised.keys() | calls.keys()):
        kinds = calls[key]
        count = raised.get(key)
        decided = kinds["confirmed"] | kinds["rejected"]
        kinds["undecided"] = set(count.calls if count else ()) - decided
        flag = FlagAgreement(
            rubric_id=key[0], rubric_version=key[1], flag_id=key[2],
            raised=count.raised if count else 0, confirmed=len(kinds["confirmed"]),
            rejected=len(kinds["rejected"]), added=len(kinds["added"]),
            calls={kind: tuple(sorted(kinds[kind])) for kind in FLAG_CALL_KINDS if kinds[kind]},
        )  # fmt: skip
        found.append(replace(flag, status=_judged(flag.decided, flag.precision, settings)))
    return found


def trusted_flags(
    db: sqlite_utils.Database, settings: AgreementSettings
) -> frozenset[tuple[str, str, str]]:
    """(rubric id, rubric version, flag id) of every flag ``settings`` marks ``trusted``, over
    all submitted reviews; none while the site sets no ``skip_review_precision``."""
    if settings.skip_review_precision is None:
        return frozenset()
    return _trusted(flag_agreement(db, settings=settings), lambda f: f.flag_id)


def _trusted(
    judged: Sequence[RuleAgreement] | Sequence[FlagAgreement], name: Callable[[Any], str]
) -> frozenset[tuple[str, str, str]]:
    """(rubric id, rubric version, ``name(x)``) of each of ``judged`` whose status is trusted."""
    return frozenset(
        (x.rubric_id, x.rubric_version, name(x)) for x in judged if x.status == "trusted"
    )
