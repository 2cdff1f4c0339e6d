"""One run at a time per database: a second run refuses with a clear message; a stale lock (its
process gone on this host, or another host silent past the timeout) is taken over with a warning
and its run marked crashed."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.db import open_db
from qa.run.lock import RunLock, RunLockedError
from qa.run.report import EXIT_LOCKED


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _plant_lock(db, *, run_id: int, host: str, pid: int, heartbeat: datetime) -> None:
    """A lock row and its 'running' run as a run that was killed would leave them."""
    with db.conn:
        db.conn.execute(
            "insert into runs (run_id, started_at, status) values (?, ?, 'running')",
            [run_id, _iso(heartbeat)],
        )
        db.conn.execute(
            "insert into run_lock (lock_id, run_id, host, pid, acquired_at, heartbeat_at) "
            "values (1, ?, ?, ?, ?, ?)",
            [run_id, host, pid, _iso(heartbeat), _iso(heartbeat)],
        )


def _run(tmp_path: Path, db: Path) -> tuple[int, str]:
    store = tmp_path / "monitor"
    store.mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["run", "--store", str(store), "--db", str(db), "--json"])
    return result.exit_code, result.output


def test_a_second_run_on_the_same_database_refuses(tmp_path):
    db_path = tmp_path / "qa.db"
    other_run = subprocess.Popen(["sleep", "60"])  # a live process on this host holds the lock
    try:
        holder = RunLock(open_db(db_path), pid=other_run.pid)
        holder.acquire()
        holder.attach(7)
        code, output = _run(tmp_path, db_path)
        assert code == EXIT_LOCKED
        assert "another run holds this database: run 7" in output
        assert f"pid {other_run.pid}" in output
        holder.release()
    finally:
        other_run.kill()
        other_run.wait()
    code, output = _run(tmp_path, db_path)
    assert code == 0, output
    assert json.loads(output)["status"] == "finished"


def test_the_lock_is_given_back_after_a_run(tmp_path):
    db_path = tmp_path / "qa.db"
    assert _run(tmp_path, db_path)[0] == 0
    assert _run(tmp_path, db_path)[0] == 0
    db = open_db(db_path)
    assert db.execute("select count(*) from run_lock").fetchone() == (0,)
    assert db.execute("select status from runs").fetchall() == [("finished",), ("finished",)]


def test_a_lock_whose_process_is_gone_is_taken_over_with_a_warning(tmp_path, caplog):
    db = open_db(tmp_path / "qa.db")
    lock = RunLock(db)
    _plant_lock(db, run_id=3, host=lock.host, pid=_dead_pid(), heartbeat=datetime.now(UTC))
    with caplog.at_level(logging.WARNING, logger="qa.run.lock"):
        lock.acquire()
    assert "taking over a stale run lock: run 3" in caplog.text
    assert "is gone" in caplog.text
    assert db.execute("select status from runs where run_id = 3").fetchone() == ("crashed",)
    assert lock.holder().pid == lock.pid


def test_another_hosts_lock_holds_until_its_heartbeat_times_out(tmp_path, caplog):
    db = open_db(tmp_path / "qa.db")
    _plant_lock(db, run_id=4, host="node-b", pid=1234, heartbeat=datetime.now(UTC))
    with pytest.raises(RunLockedError, match="pid 1234 on node-b"):
        RunLock(db, timeout_minutes=10).acquire()
    with db.conn:  # node-b went silent 11 minutes ago
        db.conn.execute(
            "update run_lock set heartbeat_at = ?",
            [_iso(datetime.now(UTC) - timedelta(minutes=11))],
        )
    with caplog.at_level(logging.WARNING, logger="qa.run.lock"):
        RunLock(db, timeout_minutes=10).acquire()
    assert "taken on node-b and its heartbeat is 11 min old" in caplog.text
    assert db.execute("select status from runs where run_id = 4").fetchone() == ("crashed",)


def test_a_live_process_on_this_host_is_never_taken_over(tmp_path):
    db = open_db(tmp_path / "qa.db")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        old = datetime.now(UTC) - timedelta(hours=3)  # even with an old heartbeat
        _plant_lock(db, run_id=5, host=RunLock(db).host, pid=sleeper.pid, heartbeat=old)
        with pytest.raises(RunLockedError, match=f"pid {sleeper.pid}"):
            RunLock(db, timeout_minutes=10).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    RunLock(db).acquire()  # once it is gone, the lock is stale


def test_qa_runs_lists_the_runs(tmp_path):
    db_path = tmp_path / "qa.db"
    for _ in range(3):
        assert _run(tmp_path, db_path)[0] == 0
    result = CliRunner().invoke(main, ["runs", "--db", str(db_path), "--last", "2"])
    lines = result.output.splitlines()
    assert result.exit_code == 0 and len(lines) == 3
    assert lines[1].split()[:3] == ["3", lines[1].split()[1], "finished"]
    result = CliRunner().invoke(main, ["runs", "--db", str(db_path), "--json"])
    reports = [json.loads(line) for line in result.output.splitlines()]
    assert [report["run_id"] for report in reports] == [3, 2, 1]
    assert reports[0]["exit_code"] == 0 and reports[0]["found"] == 0


def test_a_held_lock_keeps_beating_while_the_run_works(tmp_path):
    db = open_db(tmp_path / "qa.db")
    lock = RunLock(db)
    with lock.hold(heartbeat_seconds=0.1):
        with db.conn:  # as if the last beat were an hour ago
            db.conn.execute(
                "update run_lock set heartbeat_at = ?",
                [_iso(datetime.now(UTC) - timedelta(hours=1))],
            )
        time.sleep(0.6)  # a long call: the run itself writes nothing meanwhile
        assert lock.holder().heartbeat_age() < 5
    assert lock.holder() is None
