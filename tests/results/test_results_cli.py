"""Reading results back: `qa scores` and `qa agents`, over a store written by the real save path.

The store is filled through ``qa.results.store.save_call`` / ``save_results`` (what the pipeline
uses) with hand-written transcripts and scorecards, so the expected numbers are known exactly.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from calldata import (
    Call,
    Direction,
    Evidence,
    Flag,
    ItemResult,
    Role,
    Scorecard,
    Transcript,
    Turn,
    Verdict,
)
from qa.db import open_db
from qa.records.agents import agent_records
from qa.results.store import call_scores, insert_scorecards, save_call, save_results


def _call(call_id: str, agent: str | None, name: str | None, hour: int) -> Call:
    return Call(
        call_id=call_id,
        recordings=(f"2026/11/20/q-600-555-20261120-{hour:02d}0000-{call_id}-r.wav",
                    f"2026/11/20/q-600-555-20261120-{hour:02d}0000-{call_id}-t.wav"),
        start=datetime(2026, 11, 20, hour, tzinfo=UTC),
        direction=Direction.INBOUND,
        queue="600",
        agent=agent,
        agent_name=name,
        language="en",
    )  # fmt: skip


TRANSCRIPT = Transcript(
    language="en",
    turns=(
        Turn(index=0, speaker="ch1", role=Role.AGENT, start=0.5, end=3.0, confidence=0.9,
             text="Thank you for calling Acme Telecom, my name is Alice."),
        Turn(index=1, speaker="ch0", role=Role.CUSTOMER, start=3.4, end=6.0, confidence=0.8,
             text="I want to make a formal complaint."),
    ),
    duration=6.5,
    channel_mode="legs",
    model="whisper-base",
)  # fmt: skip
GREETING = Evidence(turn_index=0, speaker=Role.AGENT, start=0.5, end=3.0,
                    text="Thank you for calling Acme Telecom, my name is Alice.")  # fmt: skip
COMPLAINT = Evidence(turn_index=1, speaker=Role.CUSTOMER, start=3.4, end=6.0,
                     text="I want to make a formal complaint.")  # fmt: skip


def _card(call_id: str, greeting: Verdict, identity: Verdict, *, complaint: bool = False,
          version: str = "1") -> Scorecard:  # fmt: skip
    items = (
        ItemResult(id="greeting", title="Greeting", result=greeting, weight=1,
                   evidence=(GREETING,) if greeting == Verdict.PASS else ()),
        ItemResult(id="identity_verification", title="Identity", result=identity, weight=2,
                   critical=True, reason="no verification before the change"),
    )  # fmt: skip
    earned = sum(i.weight for i in items if i.result == Verdict.PASS)
    possible = sum(i.weight for i in items if i.result != Verdict.NA)
    return Scorecard(
        call_id=call_id,
        rubric_id="inbound-service",
        rubric_version=version,
        score=earned,
        max_score=possible,
        passed=earned == possible,
        items=items,
        flags=(Flag(id="complaint", severity="high", evidence=(COMPLAINT,)),) if complaint else (),
    )


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "qa.db"
    db = open_db(path)
    store = tmp_path / "monitor"
    rows = [
        (_call("1.1", "1001", "Alice Smith", 9), _card("1.1", Verdict.PASS, Verdict.PASS)),
        (_call("1.2", "1001", "Alice Smith", 10),
         _card("1.2", Verdict.PASS, Verdict.FAIL, complaint=True)),
        (_call("1.3", "1002", "Bob Jones", 11), _card("1.3", Verdict.FAIL, Verdict.NA)),
        (_call("1.4", None, "Carol Queue", 12), _card("1.4", Verdict.PASS, Verdict.NA)),
    ]  # fmt: skip
    for call, card in rows:
        save_call(db, call, store, status="pending")
        save_results(db, call.call_id, TRANSCRIPT, [card])
    save_call(db, _call("1.5", "1001", "Alice Smith", 13), store, status="failed")
    db.conn.close()
    return path


def test_call_scores_are_typed_rows_with_evidence(db_path):
    rows = call_scores(open_db(db_path))
    assert [row.call_id for row in rows] == ["1.1", "1.2", "1.3", "1.4"]  # not the failed one
    second = rows[1]
    assert second.recording.endswith("-1.2-r.wav")
    assert (second.score, second.max_score, second.passed) == (1, 3, False)
    identity = second.items[1]
    assert (identity.id, identity.result, identity.critical) == (
        "identity_verification",
        Verdict.FAIL,
        True,
    )
    assert second.flags[0].evidence[0].text == "I want to make a formal complaint."


def test_rescoring_with_a_new_rubric_version_shows_the_latest(db_path):
    db = open_db(db_path)
    with db.conn:
        insert_scorecards(db, [_card("1.3", Verdict.PASS, Verdict.NA, version="2")])
    (row,) = call_scores(db, call_id="1.3")
    assert (row.rubric_version, row.passed) == ("2", True)
    assert db.execute("select count(*) from scorecards where call_id = '1.3'").fetchone()[0] == 2


def test_agent_records_over_the_whole_range(db_path):
    summaries = {s.label: s for s in agent_records(open_db(db_path))}
    alice = summaries["Alice Smith"]
    assert (alice.agent, alice.calls_scored) == ("1001", 2)
    assert alice.average_score == pytest.approx((100 + 100 / 3) / 2)
    assert alice.pass_rate == 0.5
    assert alice.item_pass_rates == {"greeting": 1.0, "identity_verification": 0.5}
    assert (alice.critical_failures, alice.complaints) == (1, 1)
    bob = summaries["Bob Jones"]
    assert bob.item_pass_rates == {"greeting": 0.0}  # N/A items count for nothing
    assert bob.average_score == 0.0
    carol = summaries["Carol Queue"]  # not in the directory: kept apart by member name
    assert carol.agent is None and carol.calls_scored == 1
    # Ranked within the team by average score: Carol 100, Alice 66.7, Bob 0.
    assert [(s.label, s.rank, s.team_size) for s in summaries.values()] == [
        ("Alice Smith", 2, 3), ("Bob Jones", 3, 3), ("Carol Queue", 1, 3)
    ]  # fmt: skip


def _cli(*args: str) -> str:
    from qa.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_qa_scores_json_lines(db_path):
    lines = [
        json.loads(line) for line in _cli("scores", "--db", str(db_path), "--json").splitlines()
    ]
    assert [line["call_id"] for line in lines] == ["1.1", "1.2", "1.3", "1.4"]
    second = lines[1]
    assert {"call_id", "recording", "agent", "language", "rubric", "score", "max_score", "passed",
            "items", "flags"} <= set(second)  # fmt: skip
    assert second["recording"].endswith("-1.2-r.wav")
    assert (second["agent"], second["language"], second["rubric"]) == (
        "1001",
        "en",
        "inbound-service",
    )
    assert (second["score"], second["max_score"], second["passed"]) == (1, 3, False)
    greeting, identity = second["items"]
    assert greeting == {
        "id": "greeting",
        "result": "pass",
        "critical": False,
        "reason": "",
        "evidence": [{"start": 0.5, "end": 3.0, "speaker": "agent",
                      "text": "Thank you for calling Acme Telecom, my name is Alice."}],
    }  # fmt: skip
    assert identity["result"] == "fail" and identity["evidence"] == []
    assert second["flags"] == [
        {"id": "complaint", "severity": "high", "kind": "",
         "evidence": [{"start": 3.4, "end": 6.0, "speaker": "customer",
                       "text": "I want to make a formal complaint."}]}
    ]  # fmt: skip


def test_qa_scores_filters_and_table(db_path):
    only = _cli("scores", "--db", str(db_path), "--json", "--agent", "1002").splitlines()
    assert [json.loads(line)["call_id"] for line in only] == ["1.3"]
    table = _cli("scores", "--db", str(db_path))
    assert "inbound-service" in table and "complaint (high)" in table


def test_qa_agents_csv_json_and_table(db_path):
    rows = list(csv.DictReader(io.StringIO(_cli("agents", "--db", str(db_path), "--csv"))))
    alice = next(row for row in rows if row["agent"] == "1001")
    assert alice["calls_scored"] == "2"
    assert float(alice["average_score"]) == pytest.approx(66.67, abs=0.01)
    assert alice["pass_rate:identity_verification"] == "0.5000"
    assert (alice["critical_failures"], alice["complaints"]) == ("1", "1")
    bob = next(row for row in rows if row["agent"] == "1002")
    assert bob["pass_rate:identity_verification"] == ""
    records = [
        json.loads(line) for line in _cli("agents", "--db", str(db_path), "--json").splitlines()
    ]
    assert {r["name"] for r in records} == {"Alice Smith", "Bob Jones", "Carol Queue"}
    assert "Alice Smith (1001)" in _cli("agents", "--db", str(db_path))


def test_qa_agents_refuses_two_formats(db_path):
    from qa.cli import main

    result = CliRunner().invoke(main, ["agents", "--db", str(db_path), "--json", "--csv"])
    assert result.exit_code == 2
    assert "choose one" in result.output


def test_a_do_not_disturb_flag_keeps_the_kind_of_call_refused(tmp_path):
    # The do-not-disturb list must say what the customer refused (survey, marketing, ...).
    db = open_db(tmp_path / "qa.db")
    call = _call("2.1", "1001", "Alice Smith", 9)
    card = _card("2.1", Verdict.PASS, Verdict.NA).model_copy(
        update={"flags": (Flag(id="do_not_disturb", severity="medium", kind="marketing",
                               evidence=(COMPLAINT,)),)}
    )  # fmt: skip
    save_call(db, call, tmp_path / "monitor", status="pending")
    save_results(db, call.call_id, TRANSCRIPT, [card])
    (row,) = call_scores(open_db(tmp_path / "qa.db"))
    assert row.flags[0].kind == "marketing"
    assert row.to_json()["flags"][0]["kind"] == "marketing"
