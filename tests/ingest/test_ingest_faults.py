"""Fault injection at ingest (no models): a store with every bad file a night meets — a name
holding a byte that is not UTF-8, garbage after RIFF/WAVE, header-only recordings of answered
calls, a symlink loop, corrupt Master.csv and queue_log lines — is ingested whole. Every good
file is taken once, every bad one is recorded with a reason naming it, the ledger keeps the odd
name's exact bytes, and a corrupt store is one line naming the file."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from batch_sites import qa_command, qa_env
from click.testing import CliRunner
from fault_store import build_fault_site

from qa.cli import main
from qa.ingest.paths import shown


def qa(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_fault_site(tmp_path_factory.mktemp("faults"))


def _decisions(output: str) -> dict[str, dict]:
    return {d["path"]: d for d in map(json.loads, output.splitlines())}


def test_the_dry_run_decides_every_file_and_names_each_bad_one(site):
    code, output = qa("ingest", "--config", str(site.config), "--dry-run", "--json")
    assert code == 1  # files failed: a person should look
    decisions = _decisions(output)
    for planted in site.planted:
        decision = decisions[shown(planted.path)]
        assert decision["action"] == planted.ingest, decision
        if planted.ingest != "take":
            assert planted.reason in decision["reason"]
        if planted.ingest == "fail":  # the reason itself names the file
            assert shown(planted.path.rsplit("/", 1)[1]) in decision["reason"]
    for source, phrase in site.source_problems.items():
        assert phrase in decisions[source]["reason"], decisions[source]
    taken = {d["call_id"] for d in decisions.values() if d["action"] == "take"}
    assert taken == {p.uniqueid for p in site.by_run("done", "truncated", "failed")} - {
        p.uniqueid for p in site.planted if p.ingest == "fail"
    }


def test_the_odd_name_is_shown_escaped_in_the_text_dry_run(site):
    code, output = qa("ingest", "--config", str(site.config), "--dry-run")
    assert code == 1
    (line,) = [line for line in output.splitlines() if "555\\xff1234" in line]
    assert line.startswith("take ")


def test_ingest_records_every_file_and_a_second_ingest_takes_nothing_twice(site, tmp_path):
    db = tmp_path / "qa.db"
    code, _ = qa("ingest", "--config", str(site.config), "--db", str(db))
    assert code == 1
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # callers' numbers: the owner's only
    conn = sqlite3.connect(db)
    odd = next(p for p in site.planted if "555\\xff" in p.reason)
    stored = conn.execute(
        "select path, action from ingest_files where typeof(path) = 'blob'"
    ).fetchall()
    stray = next(p for p in site.planted if "caf" in p.reason)
    # The exact bytes of each name that is not UTF-8, found again.
    assert sorted(stored) == sorted(
        [(os.fsencode(odd.path), "take"), (os.fsencode(stray.path), "skip")]
    )
    (recordings,) = conn.execute(
        "select recordings from calls where call_id = ?", [odd.uniqueid]
    ).fetchone()
    (path,) = json.loads(recordings)
    assert (site.store / path).is_file()  # the stored name opens the file
    pending = {row[0] for row in conn.execute("select call_id from calls")}
    assert pending == {p.uniqueid for p in site.planted if p.ingest == "take"}
    code, output = qa("ingest", "--config", str(site.config), "--db", str(db))
    assert "0 to take (0 new call(s))" in output
    assert {row[0] for row in conn.execute("select call_id from calls")} == pending


def test_a_corrupt_store_is_one_line_naming_the_file(tmp_path):
    db = tmp_path / "qa.db"
    db.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(main, ["runs", "--db", str(db)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(db) in result.output and "restore it from a backup" in result.output


def _read_only(db: Path, *args: str) -> tuple[int, str]:
    """``qa ARGS`` with ``db`` read-only for it: mode 0400, and for root (who may write any
    file, as CI runs) a read-only bind mount of the file in a mount namespace of its own."""
    db.chmod(0o400)
    if os.geteuid() != 0:
        result = CliRunner().invoke(main, list(args))
        return result.exit_code, result.output
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("root without a mount namespace (unshare -m) cannot make a file read-only")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && shift && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", script, str(db), "--", *qa_command(*args)]
    done = subprocess.run(command, capture_output=True, text=True, env=qa_env(), timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_a_read_only_store_can_be_listed_but_not_run_into(tmp_path, site):
    db = tmp_path / "qa.db"
    qa("ingest", "--config", str(site.config), "--db", str(db))
    code, output = _read_only(db, "runs", "--db", str(db))
    assert code == 0, output
    code, output = _read_only(db, "run", "--config", str(site.config), "--db", str(db))
    assert code != 0 and f"{db} cannot be written" in output, output


def test_a_recording_linked_from_outside_is_refused_naming_link_target_and_fix(site, tmp_path):
    (linked,) = [p for p in site.planted if "outside the store" in p.reason]
    code, output = qa("ingest", "--config", str(site.config), "--dry-run", "--json")
    decision = _decisions(output)[shown(linked.path)]
    assert decision["action"] == "fail" and code == 1
    target = str(site.root / "elsewhere" / linked.path.rsplit("/", 1)[1])
    assert linked.path in decision["reason"] and target in decision["reason"]
    assert "allowed_link_roots" in decision["reason"]
    # Once its folder is allowed (relative to the config's folder), it is taken like any other.
    allowed = tmp_path / "site.toml"
    text = site.config.read_text().replace('store = "monitor"', f'store = "{site.store}"')
    text = text.replace('cdr_csv = "Master.csv"', f'cdr_csv = "{site.root / "Master.csv"}"')
    text = text.replace('queue_log = "queue_log"', f'queue_log = "{site.root / "queue_log"}"')
    text = text.replace('rubrics = "rubrics"', f'rubrics = "{site.root / "rubrics"}"')
    (tmp_path / "elsewhere").symlink_to(site.root / "elsewhere")
    allowed.write_text('allowed_link_roots = ["elsewhere"]\n' + text)
    _, output = qa("ingest", "--config", str(allowed), "--dry-run", "--json")
    decision = _decisions(output)[shown(linked.path)]
    assert decision["action"] == "take" and decision["call_id"] == linked.uniqueid
