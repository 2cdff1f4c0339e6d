"""Agent performance records: per period, reviewers' verdicts winning, trend and team rank, over
the records store described in tests/records_store.py (what the shipped rubrics decide for each
call is checked below)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_store import NEW_YORK, REPO, REVIEWER, build_records_store

from calldata import Verdict
from qa.access.users import get_user
from qa.db import open_db
from qa.records.agents import Period, agent_records, agent_trend, period_label, period_start
from qa.results.store import call_scores
from qa.review.state import Decision, ItemChoice, effective_scorecards, rubric_pass_marks
from qa.review.submit import submit_review


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return build_records_store(tmp_path)


def _override(db_path: Path, call_id: str, item_id: str, verdict: Verdict, comment: str) -> None:
    """A reviewer overrides one item of the call and confirms the rest."""
    db = open_db(db_path)
    (card,) = effective_scorecards(db, [call_id])[call_id]
    choices = [
        ItemChoice(card.scorecard_id, item.id, Decision.OVERRIDDEN, verdict, comment)
        if item.id == item_id
        else ItemChoice(card.scorecard_id, item.id, Decision.CONFIRMED)
        for item in card.machine.items
    ]
    submit_review(db, call_id, get_user(db, REVIEWER), choices,
                  pass_marks=rubric_pass_marks(REPO / "rubrics"))  # fmt: skip
    db.close()


def _by(records, period: str) -> dict[str, object]:
    return {r.label: r for r in records if r.period_label == period}


def test_the_shipped_rubrics_decide_the_store_as_described(db_path):
    scores = {(row.call_id, row.rubric): (row.score, row.passed) for row in
              call_scores(open_db(db_path))}  # fmt: skip
    assert scores == {
        ("c1-good-en", "inbound-service"): (100.0, True),
        ("c2-no-id-en", "inbound-service"): (0.0, False),
        ("c3-complaint-en", "inbound-service"): (100.0, True),
        ("c4-good-zh", "inbound-service"): (100.0, True),
        ("c5-complaint-zh", "inbound-service"): (100.0, True),
        ("c6-no-greeting-en", "inbound-service"): (61.54, False),
        ("c7-late-verification-en", "inbound-service"): (0.0, False),
        ("c8-dnd-survey-zh", "outbound-sales"): (88.0, True),  # no rating invitation
        ("c9-dnd-pitch-en", "outbound-sales"): (0.0, False),
    }


def test_periods_are_local_days_iso_weeks_and_months():
    day = date(2026, 11, 20)  # a Friday
    assert period_start(day, Period.WEEK) == date(2026, 11, 16)
    assert period_label(period_start(day, Period.WEEK), Period.WEEK) == "2026-W47"
    assert period_label(period_start(day, Period.MONTH), Period.MONTH) == "2026-11"
    assert period_label(period_start(day, Period.DAY), Period.DAY) == "2026-11-20"
    assert period_label(period_start(date(2027, 1, 1), Period.WEEK), Period.WEEK) == "2026-W53"


def test_weekly_records_with_rank_within_the_team(db_path):
    from zoneinfo import ZoneInfo

    records = agent_records(open_db(db_path), period=Period.WEEK, tz=ZoneInfo(NEW_YORK))
    assert [r.period_label for r in records] == ["2026-W47"] * 3 + ["2026-W48"] * 2 + [
        "2026-W49"
    ] * 2
    w47 = _by(records, "2026-W47")
    alice, bob, wang = w47["Alice Smith"], w47["Bob Jones"], w47["Wang Fang"]
    assert (alice.calls_scored, alice.average_score, alice.pass_rate) == (2, 100.0, 1.0)
    assert (alice.complaints, alice.critical_failures) == (1, 0)
    assert (bob.calls_scored, bob.average_score, bob.critical_failures) == (1, 0.0, 1)
    assert bob.item_pass_rates["identity_verification"] == 0.0
    # Alice and Wang tie (100, all passed): they share first place; Bob is third, not second.
    assert [(r.rank, r.team_size) for r in (alice, wang, bob)] == [(1, 3), (1, 3), (3, 3)]
    w48 = _by(records, "2026-W48")
    assert w48["Bob Jones"].average_score == pytest.approx(61.54)
    assert (w48["Wang Fang"].rank, w48["Bob Jones"].rank, w48["Bob Jones"].team_size) == (1, 2, 2)


def test_months_follow_the_site_time_zone(db_path):
    from zoneinfo import ZoneInfo

    db = open_db(db_path)
    local = _by(agent_records(db, period="month", tz=ZoneInfo(NEW_YORK)), "2026-11")
    utc = _by(agent_records(db, period="month"), "2026-11")
    # c9 (02:00 UTC on 1 December) is a November call in New York.
    assert (local["Alice Smith"].calls_scored, utc["Alice Smith"].calls_scored) == (3, 2)
    assert local["Alice Smith"].average_score == pytest.approx(200 / 3)
    assert local["Bob Jones"].average_score == pytest.approx(61.54 / 2)


def test_since_and_until_are_inclusive_local_days(db_path):
    db = open_db(db_path)
    records = agent_records(db, since=date(2026, 11, 20), until=date(2026, 11, 24))
    assert {r.label: r.calls_scored for r in records} == {
        "Alice Smith": 1, "Bob Jones": 1, "Wang Fang": 2}  # fmt: skip
    (alice,) = agent_records(db, agent="Alice Smith")
    assert alice.period_label == "all" and alice.calls_scored == 3


def test_a_reviewers_verdict_wins_in_the_record(db_path):
    before = _by(agent_records(open_db(db_path), period="week"), "2026-W47")["Bob Jones"]
    assert (before.average_score, before.calls_reviewed, before.rank) == (0.0, 0, 3)
    # The ASR missed the service password: the reviewer overrides identity verification.
    _override(db_path, "c2-no-id-en", "identity_verification", Verdict.PASS,
              "service password given at 0:04, the transcript missed it")  # fmt: skip
    db = open_db(db_path)
    after = _by(agent_records(db, period="week"), "2026-W47")["Bob Jones"]
    assert (after.average_score, after.pass_rate, after.calls_reviewed) == (100.0, 1.0, 1)
    assert after.item_pass_rates["identity_verification"] == 1.0
    assert (after.critical_failures, after.rank) == (0, 1)
    # The machine's result is kept as it was.
    (machine,) = call_scores(db, call_id="c2-no-id-en")
    assert (machine.score, machine.passed) == (0.0, False)


def test_an_agents_trend_is_one_record_per_period(db_path):
    trend = agent_trend(open_db(db_path), "1002", "week")
    assert [(r.period_label, round(r.average_score, 2), r.calls_scored) for r in trend] == [
        ("2026-W47", 0.0, 1), ("2026-W48", 61.54, 1), ("2026-W49", 0.0, 1)]  # fmt: skip


def _cli(*args: str) -> str:
    from qa.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_qa_agents_per_month_as_csv_json_and_table(db_path):
    import csv
    import io
    import json

    common = ["agents", "--db", str(db_path), "--period", "month", "--timezone", NEW_YORK]
    rows = list(csv.DictReader(io.StringIO(_cli(*common, "--format", "csv"))))
    assert [(r["period"], r["name"]) for r in rows] == [
        ("2026-11", "Alice Smith"), ("2026-11", "Bob Jones"), ("2026-11", "Wang Fang"),
        ("2026-12", "Bob Jones")]  # fmt: skip
    alice = rows[0]
    assert (alice["calls_scored"], alice["complaints"], alice["cases:open"]) == ("3", "1", "1")
    assert (alice["rank"], alice["team_size"], alice["calls_reviewed"]) == ("2", "3", "0")
    lines = [json.loads(line) for line in _cli(*common, "--json").splitlines()]
    assert lines[0]["complaint_cases"] == {"open": 1} and lines[0]["period_start"] == "2026-11-01"
    table = _cli(*common, "--since", "2026-12-01")
    assert "2026-12" in table and "Bob Jones (1002)" in table and "2026-11" not in table


def test_qa_agents_refuses_bad_options(db_path):
    from qa.cli import main

    runner = CliRunner()
    both = runner.invoke(main, ["agents", "--db", str(db_path), "--json", "--format", "csv"])
    assert both.exit_code == 2 and "choose one" in both.output
    order = runner.invoke(
        main, ["agents", "--db", str(db_path), "--since", "2026-12-01", "--until", "2026-11-01"]
    )
    assert order.exit_code == 2 and "after --until" in order.output
    zone = runner.invoke(main, ["agents", "--db", str(db_path), "--timezone", "Mars/Base"])
    assert zone.exit_code == 2 and "IANA" in zone.output
