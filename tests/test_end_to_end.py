"""The whole product on the bundled sample store: real models, real pipeline, real CLI.

`samples/expected.json` states what every call must get; this is the promise `make demo` makes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import main

pytestmark = pytest.mark.models


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def expected(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "expected.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory, samples_dir: Path) -> dict:
    """Run the nightly job twice on a copy of the sample store; keep both summaries."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(samples_dir / "store", site / "store", symlinks=True)
    shutil.copy(samples_dir / "demo.toml", site / "demo.toml")
    db = site / "qa.db"
    first = json.loads(
        _invoke("run", "--config", str(site / "demo.toml"), "--db", str(db), "--json")
    )
    with sqlite3.connect(db) as conn:  # read before any command that backfills cases
        cases = conn.execute("select call_id, source, status from complaint_cases").fetchall()
    second = json.loads(
        _invoke("run", "--config", str(site / "demo.toml"), "--db", str(db), "--json")
    )
    return {"db": db, "first": first, "second": second, "cases_after_first_run": cases}


@pytest.fixture(scope="module")
def scores(demo) -> dict[str, dict]:
    lines = _invoke("scores", "--db", str(demo["db"]), "--json").splitlines()
    by_call = {}
    for line in lines:
        record = json.loads(line)
        by_call[record["call_id"]] = record
    return by_call


def test_first_run_takes_every_call_and_skips_the_unanswered_file(demo, expected):
    first = demo["first"]
    assert first["failed"] == []
    assert first["done"] == len(expected["calls"])
    skipped = {item["call_id"]: item for item in first["skipped"]}
    for item in expected["skipped"]:
        assert item["call_id"] in skipped, f"{item['recording']} should be skipped"
        assert skipped[item["call_id"]]["status"] == item["status"]
        assert "answered" in skipped[item["call_id"]]["reason"]  # says why: never answered
    assert first["audio_minutes"] > 0 and first["real_time_factor"] > 0


def test_the_run_opens_a_complaint_case_for_each_complaint_call(demo, expected):
    complaint_calls = {c["call_id"] for c in expected["calls"] if "complaint" in c["flags"]}
    assert complaint_calls  # the sample store has an English and a Mandarin complaint
    opened = {
        call_id: (source, status) for call_id, source, status in demo["cases_after_first_run"]
    }
    assert set(opened) == complaint_calls
    assert set(opened.values()) == {("flag", "open")}


def test_second_run_has_nothing_new_to_do(demo, expected):
    second = demo["second"]
    assert second["done"] == 0
    assert second["failed"] == []
    assert second["already_done"] == len(expected["calls"])


@pytest.mark.parametrize(
    "key", ["good-en", "no-greeting-en", "no-id-en", "complaint-en", "good-zh", "complaint-zh"]
)
def test_every_call_gets_the_expected_verdicts(key, scores, expected):
    call = next(c for c in expected["calls"] if c["key"] == key)
    got = scores.get(call["call_id"])
    assert got is not None, f"{key}: call {call['call_id']} was not scored"
    assert got["recording"] == call["recordings"][0]
    assert got["agent"] == call["agent"]
    assert got["language"] == call["language"]
    verdicts = {item["id"]: item["result"] for item in got["items"]}
    for item_id, verdict in call["items"].items():
        assert verdicts[item_id] == verdict, (
            f"{key}: {item_id} is {verdicts[item_id]}, expected {verdict}; "
            f"items: {json.dumps(got['items'], ensure_ascii=False)[:2000]}"
        )
    assert sorted(flag["id"] for flag in got["flags"]) == sorted(call["flags"])


def test_every_decided_verdict_shows_its_evidence(scores):
    for record in scores.values():
        for item in record["items"]:
            if item["result"] == "pass" and item["id"] in ("greeting", "closing"):
                assert item["evidence"], f"{record['call_id']}: {item['id']} has no evidence"
                for quote in item["evidence"]:
                    assert quote["text"] and quote["end"] >= quote["start"] >= 0
        for flag in record["flags"]:
            assert flag["evidence"], f"{record['call_id']}: flag {flag['id']} has no evidence"


def test_agent_figures_cover_every_agent(demo, expected):
    rows = [
        json.loads(line)
        for line in _invoke("agents", "--db", str(demo["db"]), "--json").splitlines()
        if line.strip()
    ]
    by_agent = {row["agent"]: row for row in rows}
    for agent in {c["agent"] for c in expected["calls"]}:
        calls = [c for c in expected["calls"] if c["agent"] == agent]
        assert by_agent[agent]["calls_scored"] == len(calls)
        assert by_agent[agent]["complaints"] == sum(bool(c["flags"]) for c in calls)
