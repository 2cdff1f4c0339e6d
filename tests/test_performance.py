"""Agent performance records: per period, reviewers' verdicts winning, trend and team rank.

The store (``build_records_store``, shared with the complaints, export, audit and browser tests)
holds annotated transcripts from ``tests/rubric_cases/transcripts`` scored by the shipped rubrics
with the real scorer and saved the way the pipeline saves them, spread over three ISO weeks of
November/December 2026. What the shipped rubrics decide for them (checked below):

    call                      agent   day (New York)  score  notes
    c1-good-en                Alice   Mon 16 Nov      100    identity verified before the change
    c2-no-id-en               Bob     Fri 20 Nov        0    roaming cancelled, then date of birth
    c3-complaint-en           Alice   Fri 20 Nov      100    complaint (high)
    c4-good-zh                Wang    Fri 20 Nov      100    identity verified before the change
    c5-complaint-zh           Wang    Tue 24 Nov      100    complaint (high)
    c6-no-greeting-en         Bob     Wed 25 Nov    38.46    no greeting, agent hung up first
    c8-dnd-survey-zh          Wang    Thu 26 Nov      100    outbound; do-not-disturb: survey
    c9-dnd-pitch-en           Alice   Mon 30 Nov        0    outbound; do-not-disturb: marketing
    c7-late-verification-en   Bob     Tue  1 Dec        0    plan switched, then account PIN

c9 starts at 02:00 UTC on 1 December: still 30 November in New York.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from calldata import Direction, Verdict
from qa.db import open_db
from qa.performance import Period, agent_records, agent_trend, period_label, period_start
from qa.results import call_scores, save_call, save_results
from qa.reviews import Decision, ItemChoice, effective_scorecards, rubric_pass_marks
from qa.submission import submit_review
from qa.users import Role, add_user, get_user
from scoring import load_case, load_rubrics, score_call, select_rubrics

REPO = Path(__file__).resolve().parent.parent
TRANSCRIPTS = REPO / "tests" / "rubric_cases" / "transcripts"
NEW_YORK = "America/New_York"
ALICE, BOB, WANG = ("1001", "Alice Smith"), ("1002", "Bob Jones"), ("1003", "Wang Fang")
# call id -> (annotated case, agent, start UTC, the customer's number)
STORED = {
    "c1-good-en": ("good-en", ALICE, datetime(2026, 11, 16, 15, 0), "4155550101"),
    "c2-no-id-en": ("no-id-en", BOB, datetime(2026, 11, 20, 16, 20), "4155550102"),
    "c3-complaint-en": ("complaint-en", ALICE, datetime(2026, 11, 20, 19, 30), "4155550103"),
    "c4-good-zh": ("good-zh", WANG, datetime(2026, 11, 20, 20, 5), "13800138000"),
    "c5-complaint-zh": ("complaint-zh", WANG, datetime(2026, 11, 24, 21, 40), "13900139000"),
    "c6-no-greeting-en": ("no-greeting-en", BOB, datetime(2026, 11, 25, 15, 2), "4155550106"),
    "c7-late-verification-en": (
        "late-verification-en", BOB, datetime(2026, 12, 1, 15, 0), "4155550107"),
    "c8-dnd-survey-zh": ("outbound-dnd-survey-zh", WANG, datetime(2026, 11, 26, 14, 0),
                         "13700137000"),
    "c9-dnd-pitch-en": ("outbound-dnd-pitch-en", ALICE, datetime(2026, 12, 1, 2, 0),
                        "4155550109"),
}  # fmt: skip
REVIEWER, SUPERVISOR = "rita", "sam"
PASSWORD = "a long enough password"
REVIEW_COMMENT = "Agent asked for the PIN after the switch; customer called back on 415 555 0107."


_BUILT: dict[bool, Path] = {}  # one store of each kind per test session, copied for each test


def build_records_store(root: Path, *, reviewed: bool = False) -> Path:
    """The store described above, as ``root/qa.db`` (users rita, a reviewer, and sam, a
    supervisor). ``reviewed``: rita has reviewed c7 and confirmed every machine verdict, with
    a comment holding a phone number. Returns the database path."""
    if reviewed not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="records-store-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _BUILT[reviewed] = _build(folder, reviewed=reviewed)
    root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(_BUILT[reviewed], root / "qa.db"))


def _build(root: Path, *, reviewed: bool) -> Path:
    rubrics = load_rubrics(REPO / "rubrics")
    db_path = root / "qa.db"
    db = open_db(db_path)
    for call_id, (name, (agent, agent_name), start, number) in STORED.items():
        case = load_case(TRANSCRIPTS / f"{name}.yaml")
        outbound = case.call.direction == Direction.OUTBOUND
        call = case.call.model_copy(
            update={
                "call_id": call_id,
                "recordings": (f"2026/{call_id}.wav",),
                "start": start.replace(tzinfo=UTC),
                "agent": agent,
                "agent_name": agent_name,
                "caller": agent if outbound else number,
                "destination": number if outbound else case.call.queue,
            }
        )
        cards = [
            score_call(rubric, case.transcript, call)
            for rubric in select_rubrics(rubrics, call, case.transcript.language)
        ]
        save_call(db, call, root / "store", status="pending")
        save_results(db, call_id, case.transcript, cards)
    add_user(db, REVIEWER, PASSWORD, Role.REVIEWER)
    add_user(db, SUPERVISOR, PASSWORD, Role.SUPERVISOR)
    if reviewed:
        (card,) = effective_scorecards(db, ["c7-late-verification-en"])["c7-late-verification-en"]
        choices = [ItemChoice(card.scorecard_id, item.id, Decision.CONFIRMED)
                   for item in card.machine.items]  # fmt: skip
        marks = rubric_pass_marks(REPO / "rubrics")
        submit_review(db, "c7-late-verification-en", get_user(db, REVIEWER), choices,
                      comment=REVIEW_COMMENT, pass_marks=marks)  # fmt: skip
    db.close()
    return db_path


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
        ("c6-no-greeting-en", "inbound-service"): (38.46, False),
        ("c7-late-verification-en", "inbound-service"): (0.0, False),
        ("c8-dnd-survey-zh", "outbound-sales"): (100.0, True),
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
    assert w48["Bob Jones"].average_score == pytest.approx(38.46)
    assert (w48["Wang Fang"].rank, w48["Bob Jones"].rank, w48["Bob Jones"].team_size) == (1, 2, 2)


def test_months_follow_the_site_time_zone(db_path):
    from zoneinfo import ZoneInfo

    db = open_db(db_path)
    local = _by(agent_records(db, period="month", tz=ZoneInfo(NEW_YORK)), "2026-11")
    utc = _by(agent_records(db, period="month"), "2026-11")
    # c9 (02:00 UTC on 1 December) is a November call in New York.
    assert (local["Alice Smith"].calls_scored, utc["Alice Smith"].calls_scored) == (3, 2)
    assert local["Alice Smith"].average_score == pytest.approx(200 / 3)
    assert local["Bob Jones"].average_score == pytest.approx(38.46 / 2)


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
        ("2026-W47", 0.0, 1), ("2026-W48", 38.46, 1), ("2026-W49", 0.0, 1)]  # fmt: skip


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
