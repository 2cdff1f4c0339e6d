"""Fault injection through the real pipeline (``qa run`` with the real models): the store of
tests/fault_store.py — good calls in every Asterisk format made by sox, a caller number with a
byte that is not UTF-8, garbage after RIFF/WAVE and header-only recordings of answered calls, a
copy cut short, a header claiming 37 hours, an mp3 of random bytes, a symlink loop, corrupt
Master.csv and queue_log lines. The run never stops: every good call is done exactly once, every
bad one is recorded with a reason naming it (in the report, the database and the ledger), the
truncated call is kept out of agent records until a reviewer has checked it, and a second run
(and runs killed with SIGKILL at seeded random points, then resumed) does nothing twice."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3

import pytest
from batch_sites import start_qa
from click.testing import CliRunner
from fault_store import AGENT, build_fault_site

from qa.access.roles import Role, User
from qa.cli import main
from qa.db import open_db
from qa.ingest.paths import shown
from qa.records.agents import agent_records
from qa.review.state import Decision, ItemChoice
from qa.review.submit import submit_review
from qa.runtime import KILL_AT

pytestmark = pytest.mark.models


def qa(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_fault_site(tmp_path_factory.mktemp("faults"))


@pytest.fixture(scope="module")
def runs(site) -> list[dict]:
    """Two runs over the store, one after the other."""
    reports = []
    for _ in range(2):
        code, output = qa(
            "run", "--config", str(site.config), "--db", str(site.root / "qa.db"), "--json"
        )
        assert code == 1, output  # failed calls: a person must look
        reports.append(json.loads(output))
    return reports


def _query(site, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(site.root / "qa.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_every_good_call_is_done_once_whatever_its_format_or_name(site, runs):
    first, second = runs
    good = {p.uniqueid for p in site.by_run("done", "truncated")}
    assert first["done"] == len(good)
    assert second["done"] == 0 and second["already_done"] == len(good)
    done = _query(site, "select call_id, count(*) from run_calls where status = 'done' group by 1")
    assert dict(done) == dict.fromkeys(good, 1)
    statuses = dict(_query(site, "select call_id, status from calls"))
    assert {call for call, status in statuses.items() if status == "done"} == good


def test_every_bad_file_is_recorded_with_a_reason_naming_it(site, runs):
    first, _ = runs
    reported = {item["path"]: item for item in first["failed"] + first["skipped"]}
    for planted in site.by_run("failed", "skipped"):
        item = reported[shown(planted.path)]
        assert item["status"] == planted.run, item
        assert planted.reason in item["reason"], item
        assert shown(planted.path.rsplit("/", 1)[1]) in item["reason"] or planted.run == "skipped"
    for source, phrase in site.source_problems.items():
        assert phrase in reported[source]["reason"]
    errors = dict(_query(site, "select call_id, error from calls where status = 'failed'"))
    for planted in site.by_run("failed"):
        if planted.ingest == "take":  # taken, then failed by the run: the call row says why
            assert planted.reason in errors[planted.uniqueid]


def test_the_odd_name_is_shown_escaped_and_its_transcript_is_there(site, runs):
    odd = next(p for p in site.planted if "555\\xff" in p.reason)
    assert "555\\xff1234" in shown(odd.path)
    (recordings,) = _query(site, "select recordings from calls where call_id = ?", odd.uniqueid)
    assert (site.store / json.loads(recordings[0])[0]).is_file()
    (text,) = _query(
        site, "select transcript_json from transcripts where call_id = ?", odd.uniqueid
    )
    assert "goodbye" in text[0].lower()


def test_a_truncated_call_is_marked_and_counts_for_the_agent_only_once_reviewed(site, runs):
    first, _ = runs
    (cut,) = site.by_run("truncated")
    (marked,) = first["truncated"]
    assert marked["call_id"] == cut.uniqueid and "cut short" in marked["reason"]
    (mark,) = _query(site, "select truncated from calls where call_id = ?", cut.uniqueid)
    assert "1.0 s of audio" in mark[0] and "35.0 s" in mark[0]
    db = open_db(site.root / "qa.db")
    (record,) = [r for r in agent_records(db) if r.name == AGENT]
    good = len(site.by_run("done"))
    assert record.calls_scored == good  # the cut call is left out
    items = db.execute(
        "select i.scorecard_id, i.item_id from item_results i join scorecards s "
        "on s.id = i.scorecard_id where s.call_id = ?",
        [cut.uniqueid],
    ).fetchall()
    choices = [ItemChoice(card, item, Decision.CONFIRMED) for card, item in items]
    submit_review(db, cut.uniqueid, User("sam", Role.SUPERVISOR), choices)
    (record,) = [r for r in agent_records(db) if r.name == AGENT]
    assert record.calls_scored == good + 1  # checked by a person: it counts


#: The chain of kills: (checkpoint, the largest pass count to pick from). Each ``qa run`` is killed
#: with SIGKILL by ``QA_KILL_AT`` (qa/runtime.py) at a seeded random pass of its checkpoint: while
#: ingest lists the store, before ingest saves its ledger, between the speech engine's steps of a
#: call, inside a call's save transaction, between two calls' transactions, after the run row is
#: finished (before its report), before the after-run alerts. Then a run goes to the end.
KILLS = (("ingest", 20), ("ledger", 1), ("speech", 6), ("save", 2), ("saved", 2),
         ("finish", 1), ("alerts", 1))  # fmt: skip
#: Runs killed after their run row was started but before it was finished: marked crashed.
CRASHED = ("speech", "save", "saved")


def test_runs_killed_at_random_points_then_resumed_do_every_good_call_exactly_once(tmp_path):
    seed = int(os.environ.get("QA_FAULT_SEED", "15"))
    rng = random.Random(seed)
    site = build_fault_site(tmp_path)
    db = tmp_path / "qa.db"
    args = ("run", "--config", str(site.config), "--db", str(db), "--workers", "1")
    files = sum(len(names) for _, _, names in os.walk(site.store))
    points = [(name, rng.randint(1, min(most, files // 2))) for name, most in KILLS]
    for name, nth in points:
        log = tmp_path / f"killed-{name}.log"
        run = start_qa(*args, log=log, env={KILL_AT: f"{name}:{nth}"})
        try:
            code = run.wait(timeout=600)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
        assert code == -signal.SIGKILL, (seed, name, nth, code, log.read_text())
    code, output = qa(*args, "--json")
    assert code == 1, output
    context = f"seed {seed}, killed at {points}"

    good = {p.uniqueid for p in site.by_run("done", "truncated")}
    done_rows = _query(site, "select call_id from calls where status = 'done'")
    assert {call for (call,) in done_rows} == good, context
    saved = _query(site, "select call_id, count(*) from transcripts group by 1")
    assert dict(saved) == dict.fromkeys(good, 1), context
    done = _query(site, "select call_id, count(*) from run_calls where status = 'done' group by 1")
    assert dict(done) == dict.fromkeys(good, 1), context  # saved once, by one run
    rubrics = _query(site, "select call_id, count(*) from scorecards group by 1")
    assert dict(rubrics) == dict.fromkeys(good, 1), context
    assert _query(site, "select count(*) from calls where status = 'pending'") == [(0,)]
    for orphans in (
        "select count(*) from item_results where scorecard_id not in (select id from scorecards)",
        "select count(*) from flags where scorecard_id not in (select id from scorecards)",
        "select count(*) from scorecards where call_id not in "
        "(select call_id from calls where status = 'done')",
    ):
        assert _query(site, orphans) == [(0,)], (orphans, context)

    recorded = _query(site, "select status, reason from run_calls where status != 'done'")
    for planted in site.by_run("failed", "skipped"):
        name = shown(planted.path.rsplit("/", 1)[1])
        assert any(
            status == planted.run
            and planted.reason in reason
            and (name in reason or planted.run == "skipped")
            for status, reason in recorded
        ), (planted, context)

    crashed = sum(1 for name, _ in points if name in CRASHED)
    statuses = [status for (status,) in _query(site, "select status from runs order by run_id")]
    # the runs killed in ingest never started a run row; the one killed after finishing it (and
    # the one killed before its alerts) finished; the last one finished
    assert statuses == ["crashed"] * crashed + ["finished"] * 3, context
    assert _query(site, "select count(*) from run_lock") == [(0,)], context
