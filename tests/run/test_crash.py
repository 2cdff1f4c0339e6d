"""Crash-safety: a real ``qa run --workers 2`` is killed with SIGKILL once its first call is
saved; the next run finishes exactly the remaining calls — none lost, none scored twice, no
half-written rows — and marks the killed run as crashed. The worker processes die with the run.

The resumed store is this session's local reference for the worker and Ray tests
(tests/batch_sites.py).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from batch_sites import (
    assert_expected_verdicts,
    make_site,
    query,
    reference_site,
    run_qa,
    start_qa,
    wait_for,
)

from qa.run.lock import pid_alive

pytestmark = pytest.mark.models

CALLS = 6  # calls in the sample store (samples/expected.json)


def _done(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return query(db, "select count(*) from calls where status = 'done'")[0][0]
    except Exception:  # the schema is being created
        return 0


def _worker_pids(parent: int) -> list[int]:
    """The run's worker processes (multiprocessing spawn children)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="module")
def crash(tmp_path_factory) -> dict:
    site = reference_site(tmp_path_factory.getbasetemp())
    config = make_site(site)
    db = site / "qa.db"
    args = ("run", "--config", str(config), "--db", str(db), "--workers", "2")
    run = start_qa(*args, log=site / "killed.log")
    try:
        assert wait_for(lambda: _done(db) >= 1, timeout=400), (site / "killed.log").read_text()
        workers = _worker_pids(run.pid)
        os.kill(run.pid, signal.SIGKILL)  # the run only: its workers must follow by themselves
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    orphans_gone = wait_for(lambda: not any(pid_alive(pid) for pid in workers), timeout=15)
    done_at_kill = _done(db)
    resumed = run_qa(*args, "--json")
    (site / "complete").write_text(resumed.stdout)  # the reference for the other batch tests
    return {
        "db": db,
        "workers": workers,
        "orphans_gone": orphans_gone,
        "done_at_kill": done_at_kill,
        "resumed": resumed,
        "report": json.loads(resumed.stdout),
    }


def test_the_killed_run_left_whole_calls_and_its_workers_died_with_it(crash):
    assert len(crash["workers"]) == 2
    assert crash["orphans_gone"], "worker processes outlived the killed run"
    assert 1 <= crash["done_at_kill"] < CALLS


def test_the_next_run_does_exactly_the_remaining_calls(crash):
    report = crash["report"]
    assert crash["resumed"].returncode == 0, crash["resumed"].stderr
    assert report["failed"] == []
    assert report["already_done"] == crash["done_at_kill"]
    assert report["done"] == CALLS - crash["done_at_kill"]


def test_every_call_is_done_exactly_once_with_one_scorecard(crash):
    db = crash["db"]
    assert query(db, "select count(*), sum(status = 'done') from calls") == [(CALLS, CALLS)]
    assert query(db, "select count(*) from transcripts") == [(CALLS,)]
    cards = query(db, "select call_id, count(*) from scorecards group by call_id")
    assert len(cards) == CALLS and all(count == 1 for _, count in cards)
    # One "done" record per call over both runs: nothing was scored twice.
    done_records = query(
        db, "select call_id, count(*) from run_calls where status = 'done' group by call_id"
    )
    assert len(done_records) == CALLS and all(count == 1 for _, count in done_records)
    assert_expected_verdicts(db)


def test_no_half_written_rows(crash):
    db = crash["db"]
    assert query(
        db,
        "select count(*) from item_results where scorecard_id not in (select id from scorecards)",
    ) == [(0,)]
    assert query(
        db, "select count(*) from flags where scorecard_id not in (select id from scorecards)"
    ) == [(0,)]
    assert query(
        db,
        "select count(*) from scorecards s where not exists (select 1 from item_results i "
        "where i.scorecard_id = s.id)",
    ) == [(0,)]
    assert query(
        db, "select count(*) from transcripts where call_id not in "
        "(select call_id from calls where status = 'done')"
    ) == [(0,)]  # fmt: skip


def test_the_killed_run_is_marked_crashed_and_the_lock_is_free(crash):
    db = crash["db"]
    runs = query(db, "select run_id, status from runs order by run_id")
    assert runs == [(1, "crashed"), (2, "finished")]
    assert query(db, "select count(*) from run_lock") == [(0,)]
    listed = run_qa("runs", "--db", str(db), "--json")
    reports = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["run_id"], r["status"]) for r in reports] == [(2, "finished"), (1, "crashed")]
