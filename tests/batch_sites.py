"""Helpers shared by the batch-run tests (workers, crash, Ray): a copy of the sample store, the
``qa`` command as a real subprocess, and what a database holds after a run.

A completed local run of the sample store is kept once per test session
(``local_reference``) so that the worker, crash and Ray tests compare against the same run
without each transcribing the store again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from qa import runtime

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def make_site(root: Path) -> Path:
    """A copy of the sample store with its config at ``root/demo.toml``; returns the config."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "store").exists():
        shutil.copytree(SAMPLES / "store", root / "store", symlinks=True)
        shutil.copy(SAMPLES / "demo.toml", root / "demo.toml")
    return root / "demo.toml"


def qa_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(runtime.ENV)  # what `qa` runs with (qa/runtime.py), whatever this shell has set
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def qa_command(*args: str) -> list[str]:
    """``qa ARGS`` with this interpreter (the project's virtualenv)."""
    return [sys.executable, "-c", "from qa.cli import main; main()", *args]


def start_qa(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``qa ARGS`` in its own session (so a test can kill it and everything it started),
    with ``env`` added to its environment."""
    out = log.open("w")
    return subprocess.Popen(
        qa_command(*args),
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**qa_env(), **(env or {})},
        cwd=REPO,
        start_new_session=True,
    )


def run_qa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        qa_command(*args),
        capture_output=True,
        text=True,
        env=qa_env(),
        cwd=REPO,
        timeout=timeout,
    )


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read-only query on a store another process may be writing."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def scorecards(db: Path) -> dict[tuple[str, str, str], dict]:
    """Every scorecard of the store, keyed by (call, rubric, version)."""
    rows = query(db, "select call_id, rubric_id, rubric_version, scorecard_json from scorecards")
    return {(call, rubric, version): json.loads(card) for call, rubric, version, card in rows}


def done_calls(db: Path) -> dict[str, str]:
    return dict(query(db, "select call_id, status from calls"))


def expected_verdicts() -> dict[str, dict]:
    """samples/expected.json: each call's item verdicts and flags."""
    data = json.loads((SAMPLES / "expected.json").read_text())
    return {call["call_id"]: call for call in data["calls"]}


def assert_expected_verdicts(db: Path) -> None:
    """The store holds every sample call with the verdicts samples/expected.json promises."""
    cards = scorecards(db)
    for call_id, call in expected_verdicts().items():
        mine = [card for (cid, _, _), card in cards.items() if cid == call_id]
        assert len(mine) == 1, f"{call_id}: {len(mine)} scorecards"
        verdicts = {item["id"]: item["result"] for item in mine[0]["items"]}
        for item_id, verdict in call["items"].items():
            assert verdicts[item_id] == verdict, f"{call_id} {item_id}: {verdicts[item_id]}"
        assert sorted(flag["id"] for flag in mine[0]["flags"]) == sorted(call["flags"])


def reference_site(base: Path) -> Path:
    """Where the session's local reference run of the sample store lives (under ``base``, the
    session's basetemp): tests/run/test_crash.py makes it there (killed and resumed); when that test
    does not run in this session, :func:`local_reference` makes it with a plain run."""
    return base / "reference-site"


def local_reference(base: Path) -> Path:
    """The database of a complete local run of the sample store, made once per test session."""
    site = reference_site(base)
    db = site / "qa.db"
    done = site / "complete"
    if not done.exists():
        config = make_site(site)
        result = run_qa("run", "--config", str(config), "--db", str(db), "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        done.write_text(result.stdout)
    return db
