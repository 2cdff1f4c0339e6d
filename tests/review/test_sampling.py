"""Sampling plans as data (qa.review.sampling): what a plan draws per agent and day, per tier, with
reviewers' quotas, reproducibly; checked against a hand count.

The store: Friday 20 November 2026 (ISO week 47), agent 1001 has 20 scored calls and agent 1002
has 3, one of which rita reviewed and failed; Saturday 21 November, 1001 has 10 and 1002 has 5.
The plan: 10% a day (rounded up), at least 2 per agent and day, 2 extra a day for 7 days after a
failed check, 5% a week from the rest, rita takes 3 a day and rob 2.

    Fri 1001: 20 calls: daily 2                       Sat 1001: 10 calls: daily 1, minimum 1
    Fri 1002:  3 calls: daily 1, minimum 1            Sat 1002:  5 calls: daily 1, minimum 1,
                                                                 extra 2 (failed on Friday)
    week 47: 1001 30 calls -> 2 more; 1002 8 calls -> 1 more
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from test_review_state import Item, store_call, user

from calldata import Verdict
from qa.access.roles import Role
from qa.cli import main
from qa.config import SamplingPlan
from qa.db import memory_db
from qa.review.sampling import draw_plan, plan_summary
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

FRI, SAT = date(2026, 11, 20), date(2026, 11, 21)
PLAN = SamplingPlan(daily_share=0.1, min_per_agent_day=2, extra_after_fail=2, extra_days=7,
                    weekly_share=0.05, reviewer_quotas={"rita": 3, "rob": 2}, seed=7)  # fmt: skip


@pytest.fixture
def db():
    store = memory_db()
    counts = {(FRI, "1001"): 20, (FRI, "1002"): 3, (SAT, "1001"): 10, (SAT, "1002"): 5}
    for (day, agent), n in counts.items():
        for i in range(n):
            start = datetime(day.year, day.month, day.day, 14, tzinfo=UTC) + timedelta(minutes=i)
            store_call(store, f"{day:%d}-{agent}-{i:02d}", start, agent,
                       [Item("greeting", Verdict.FAIL if i == 0 else Verdict.PASS)])  # fmt: skip
    failed = "20-1002-00"
    (card,) = effective_scorecards(store, [failed])[failed]
    submit_review(store, failed, user(store, "rita", Role.REVIEWER),
                  [ItemChoice(card.scorecard_id, "greeting", Decision.CONFIRMED)])  # fmt: skip
    return store


def test_the_plan_draws_the_hand_count(db) -> None:
    draws = draw_plan(db, PLAN)
    tiers = Counter((d.day, d.agent, d.tier) for d in draws if d.tier != "weekly")
    assert tiers == {
        (FRI, "1001", "daily"): 2,
        (FRI, "1002", "daily"): 1, (FRI, "1002", "minimum"): 1,
        (SAT, "1001", "daily"): 1, (SAT, "1001", "minimum"): 1,
        (SAT, "1002", "daily"): 1, (SAT, "1002", "minimum"): 1, (SAT, "1002", "extra"): 2,
    }  # fmt: skip
    weekly = Counter(d.agent for d in draws if d.tier == "weekly")
    assert weekly == {"1001": 2, "1002": 1}
    assert len({d.call_id for d in draws}) == len(draws) == 13  # no call drawn twice
    assert draw_plan(db, PLAN) == draws  # reproducible
    assert {d.call_id for d in draw_plan(db, PLAN.model_copy(update={"seed": 8}))} != {
        d.call_id for d in draws}  # fmt: skip


def test_reviewers_take_the_draw_up_to_their_quotas(db) -> None:
    draws = draw_plan(db, PLAN)
    per_day = Counter((d.day, d.reviewer) for d in draws)
    for day in (FRI, SAT):
        assert per_day[(day, "rita")] <= 3 and per_day[(day, "rob")] <= 2
        drawn = sum(n for (d, _), n in per_day.items() if d == day)
        assert per_day[(day, None)] == max(0, drawn - 5)  # beyond the quotas: nobody's yet


def test_the_summary_says_what_is_left_to_review(db) -> None:
    first = draw_plan(db, PLAN, since=FRI, until=FRI)
    assert {d.day for d in first} == {FRI}
    picked = next(d for d in first if d.agent == "1001" and not d.reviewed)
    (card,) = effective_scorecards(db, [picked.call_id])[picked.call_id]
    submit_review(db, picked.call_id, user(db, "rob", Role.REVIEWER),
                  [ItemChoice(card.scorecard_id, "greeting", Decision.CONFIRMED)])  # fmt: skip
    draws = draw_plan(db, PLAN, since=FRI, until=FRI)
    assert [d.call_id for d in draws] == [d.call_id for d in first]  # a review changes no draw
    rows = {(r.day, r.agent): r for r in plan_summary(db, draws, since=FRI, until=FRI)}
    alice = rows[(FRI, "1001")]
    drawn = sum(alice.drawn.values())
    assert (alice.calls, alice.reviewed, alice.left) == (20, 1, drawn - 1)
    assert rows[(FRI, "1002")].calls == 3


def test_qa_sampling_report(db, tmp_path) -> None:
    db_path = tmp_path / "qa.db"
    db.execute(f"vacuum into '{db_path}'")
    config = tmp_path / "site.toml"
    config.write_text(
        "[sampling]\ndaily_share = 0.1\nmin_per_agent_day = 2\nextra_after_fail = 2\n"
        'weekly_share = 0.05\nseed = 7\nreviewer_quotas = {"rita" = 3, "rob" = 2}\n'
    )

    def qa(*args: str) -> str:
        result = CliRunner().invoke(main, ["sampling", "report", "--db", str(db_path),
                                           "--config", str(config), *args],
                                    catch_exceptions=False)  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output

    lines = [json.loads(line) for line in qa("--json").splitlines()]
    assert [(d["call_id"], d["tier"]) for d in lines] == [
        (d.call_id, d.tier) for d in draw_plan(db, PLAN)]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(qa("--csv", "--since", "2026-11-21"))))
    saturday = draw_plan(db, PLAN, since=SAT)
    assert [(r["day"], r["call_id"], r["reviewer"]) for r in rows] == [
        ("2026-11-21", d.call_id, d.reviewer or "") for d in saturday]  # fmt: skip
    assert len([d for d in saturday if d.tier != "weekly"]) == 6  # the hand count: 2 + 4
    table = qa("--since", "2026-11-20", "--until", "2026-11-20")
    assert "1002" in table and "taken: " in table
