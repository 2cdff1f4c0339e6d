"""``qa ingest``: the dry run shows each recording's fate without touching the database; the real
run records the new calls as pending for ``qa run``, once."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from pbx_store import master_csv_row, queue_call_lines, write_header_only, write_lines, write_wav

from qa.cli import main
from qa.db import open_db

QUEUED = "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav"
UNANSWERED = "2024/01/15/in-8005551212-5557654321-20240115-160211-1705352531.140.wav"


def make_site(tmp_path: Path) -> Path:
    store = tmp_path / "monitor"
    write_wav(store / QUEUED)
    write_header_only(store / UNANSWERED)
    write_lines(
        tmp_path / "Master.csv",
        [
            master_csv_row(
                src="5551234567", dst="600", start="2024-01-15 14:30:15",
                answer="2024-01-15 14:30:34", end="2024-01-15 14:35:34", duration=319,
                billsec=300, uniqueid="1705347015.101", userfield="",
            )
        ],
    )  # fmt: skip
    write_lines(tmp_path / "queue_log", queue_call_lines("1705347015.101"))
    config = tmp_path / "site.toml"
    config.write_text(
        'store = "monitor"\ncdr_csv = "Master.csv"\nqueue_log = "queue_log"\n'
        'timezone = "America/New_York"\n'
        '[[agents]]\nid = "1002"\nname = "Bob Jones"\nidentities = ["Bob Jones"]\n'
    )
    return config


def qa(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_dry_run_json_is_one_object_per_recording_and_creates_no_database(tmp_path):
    config = make_site(tmp_path)
    code, output = qa("ingest", "--config", str(config), "--db", str(tmp_path / "qa.db"),
                      "--dry-run", "--json")  # fmt: skip
    assert code == 0, output
    assert not (tmp_path / "qa.db").exists()
    objects = {item["path"]: item for item in map(json.loads, output.splitlines())}
    assert set(objects) == {QUEUED, UNANSWERED}
    assert objects[QUEUED] == {
        "path": QUEUED,
        "action": "take",
        "reason": "",
        "call_id": "1705347015.101",
        "agent": "1002",
        "queue": "600",
        "start": "2024-01-15T19:30:15+00:00",
    }
    unanswered = objects[UNANSWERED]
    assert (unanswered["action"], unanswered["call_id"]) == ("skip", None)
    assert "never answered" in unanswered["reason"]


def test_ingest_records_new_calls_as_pending_once(tmp_path):
    config, db = make_site(tmp_path), tmp_path / "qa.db"
    code, output = qa("ingest", "--config", str(config), "--db", str(db))
    assert code == 0, output
    assert f"take   {QUEUED}: call 1705347015.101" in output
    assert "1 call(s) recorded as pending" in output
    rows = open_db(db).execute("select call_id, status, agent, hold_seconds from calls").fetchall()
    assert rows == [("1705347015.101", "pending", "1002", 19.0)]
    code, output = qa("ingest", "--config", str(config), "--db", str(db))
    assert code == 0
    assert "0 to take (0 new call(s))" in output and "0 call(s) recorded as pending" in output
    code, output = qa("ingest", "--config", str(config), "--db", str(db), "--dry-run")
    assert "dry run: nothing was written" in output
    assert "2 file(s) settled by earlier runs" in output


def test_a_failed_file_is_reported_and_sets_the_exit_status(tmp_path):
    config = make_site(tmp_path)
    broken = tmp_path / "monitor/2024/01/15/q-600-5552223333-20240115-171800-1705357080.4.wav"
    broken.symlink_to(tmp_path / "gone.wav")  # a day folder on a NAS that went away
    code, output = qa("ingest", "--config", str(config), "--dry-run", "--json")
    assert code == 1
    failed = [item for item in map(json.loads, output.splitlines()) if item["action"] == "fail"]
    assert [item["path"] for item in failed] == [str(broken.relative_to(tmp_path / "monitor"))]
    assert str(broken) in failed[0]["reason"]


def test_without_db_only_a_dry_run_is_possible(tmp_path):
    config = make_site(tmp_path)
    code, output = qa("ingest", "--config", str(config))
    assert code == 1
    assert "pass --db" in output and "--dry-run" in output
