"""``qa run`` end to end on a small FreePBX store with real speech (espeak-ng) and the real models.

The store holds a stereo queue call, a two-leg queue call, an unanswered call (44-byte WAV) and a
corrupt recording; the pipeline runs through the CLI, then again, then with --retry-failed.
Set-up problems (no store, a bad rubric, missing models) stop the run before any work.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from click.testing import CliRunner

from qa.cli import main
from qa.db import open_db
from qa.results.store import load_transcript
from scoring import NormalizedTexts, normalize_text

RATE = 8000
OLD = time.time() - 3600
CALLS = [
    # (file stem, layout, agent, [(speaker, text)])
    (
        "q-600-5551234567-20261120-091505-1795184105.11",
        "stereo",
        "Alice Smith",
        [
            ("agent", "Thank you for calling Acme Telecom, my name is Alice. How can I help you?"),
            ("customer", "I want to make a complaint about my bill."),
            ("agent", "I am sorry about that. I have fixed your bill. Goodbye."),
        ],
    ),
    (
        "q-600-5552223333-20261120-100240-1795186960.22",
        "legs",
        "Bob Jones",
        [
            ("agent", "Yeah. What do you need?"),
            ("customer", "What time does your store close on Saturday?"),
            ("agent", "We close at six in the evening. Goodbye."),
        ],
    ),
]
UNANSWERED = "q-600-5554445555-20261120-112012-1795191612.33.wav"
CORRUPT = "q-600-5556667777-20261120-143015-1795203015.44.wav"
RUBRIC = """\
id: test-service
version: "1"
title: Test service form
pass_mark: 100
items:
  - id: greeting
    title: Thanks the caller for calling
    weight: 1
    check:
      phrase: {role: agent, phrases: {en: ["thank you for calling"]}, window: {first_turns: 1}}
  - id: closing
    title: Says goodbye
    weight: 1
    check:
      phrase: {role: agent, phrases: {en: ["goodbye"]}}
flags:
  - id: complaint
    title: Customer complains
    when:
      phrase: {role: customer, phrases: {en: ["complaint"]}}
    default_level: high
"""


def speak(text: str) -> np.ndarray:
    """``text`` spoken by espeak-ng, at the PBX's 8 kHz."""
    result = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    )
    audio, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    return soxr.resample(audio, rate, RATE)


def conversation(lines: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Each speaker's channel, the lines one after another with a short gap."""
    clips = [(speaker, speak(text)) for speaker, text in lines]
    gap = int(0.5 * RATE)
    total = sum(len(clip) + gap for _, clip in clips) + gap
    channels = {"agent": np.zeros(total, "float32"), "customer": np.zeros(total, "float32")}
    position = gap
    for speaker, clip in clips:
        channels[speaker][position : position + len(clip)] = clip
        position += len(clip) + gap
    return channels


def write_pcm(path: Path, channels: list[np.ndarray]) -> None:
    frames = (np.stack(channels, axis=1) * 32767 * 0.8).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames.tobytes())
    os.utime(path, (OLD, OLD))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A FreePBX site: monitor tree, Master.csv, queue_log, a rubric folder and a config file."""
    root = tmp_path_factory.mktemp("site")
    day = root / "monitor" / "2026" / "11" / "20"
    day.mkdir(parents=True)
    queue_lines = []
    for stem, layout, agent, lines in CALLS:
        voices = conversation(lines)
        if layout == "stereo":  # MixMonitor D on the caller's channel: ch0 customer, ch1 agent
            write_pcm(day / f"{stem}.wav", [voices["customer"], voices["agent"]])
        else:  # r(): received from the caller; t(): transmitted to the caller
            write_pcm(day / f"{stem}-r.wav", [voices["customer"]])
            write_pcm(day / f"{stem}-t.wav", [voices["agent"]])
        uniqueid = stem.rsplit("-", 1)[1]
        epoch = int(uniqueid.split(".")[0])
        queue_lines += [
            f"{epoch}|{uniqueid}|600|NONE|ENTERQUEUE||{stem.split('-')[2]}|1",
            f"{epoch + 5}|{uniqueid}|600|{agent}|CONNECT|5|{epoch + 4}.9|1",
            f"{epoch + 60}|{uniqueid}|600|{agent}|COMPLETECALLER|5|55|1",
        ]
    write_pcm(day / UNANSWERED, [np.zeros(0, "float32")])
    (day / CORRUPT).write_bytes(b"this is not audio at all " * 200)
    os.utime(day / CORRUPT, (OLD, OLD))
    (root / "queue_log").write_text("\n".join(queue_lines) + "\n")
    rubrics = root / "rubrics"
    rubrics.mkdir()
    (rubrics / "test-service.yaml").write_text(RUBRIC)
    (root / "site.toml").write_text(
        """
store = "monitor"
queue_log = "queue_log"
rubrics = "rubrics"
timezone = "America/New_York"
languages = ["en", "zh"]
[queue_languages]
"600" = "en"
[[agents]]
id = "1001"
name = "Alice Smith"
identities = ["1001", "PJSIP/1001", "Alice Smith"]
[[agents]]
id = "1002"
name = "Bob Jones"
identities = ["1002", "PJSIP/1002", "Bob Jones"]
"""
    )
    return root


def qa(*args: str) -> tuple[int, str]:
    """Run the ``qa`` CLI; return the exit code and stdout (logs go to stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def run_site(site: Path, *flags: str) -> tuple[int, str]:
    return qa("run", "--config", str(site / "site.toml"), "--db", str(site / "qa.db"), *flags)


@pytest.fixture(scope="module")
def first_run(site) -> dict:
    code, output = qa(
        "run", "--config", str(site / "site.toml"), "--db", str(site / "qa.db"), "--json"
    )
    assert code == 1, output  # the corrupt recording needs a person
    return json.loads(output)


@pytest.mark.models
def test_first_run_does_the_good_calls_and_records_the_corrupt_one(site, first_run):
    assert first_run["found"] == 3
    assert first_run["done"] == 2
    (failed,) = first_run["failed"]
    assert failed["call_id"] == "1795203015.44"
    assert failed["stage"] == "transcribe"
    assert CORRUPT in failed["reason"]
    (skipped,) = first_run["skipped"]
    assert skipped["path"].endswith(UNANSWERED)
    assert "never answered" in skipped["reason"]
    assert first_run["audio_minutes"] > 0.2
    assert 0 < first_run["real_time_factor"] < 5
    db = open_db(site / "qa.db")
    statuses = dict(db.execute("select call_id, status from calls").fetchall())
    assert statuses == {"1795184105.11": "done", "1795186960.22": "done", "1795203015.44": "failed"}
    error = db.execute("select error from calls where call_id = '1795203015.44'").fetchone()[0]
    assert error.startswith("transcribe: ") and CORRUPT in error
    run = db.execute("select status, found, done, failed, skipped from runs").fetchone()
    assert run == ("finished", 3, 2, 1, 1)
    outcomes = dict(db.execute("select call_id, status from run_calls").fetchall())
    assert outcomes["1795203015.44"] == "failed"
    assert outcomes["1795191612.33"] == "skipped"
    # each done call's turns are stored normalised as scoring read them, so re-scoring does
    # not normalise them again
    for call_id, data in db.execute("select call_id, data from normalized_texts").fetchall():
        transcript = load_transcript(db, call_id, words=False)
        assert transcript is not None
        stored = NormalizedTexts.from_json(data).usable()
        assert stored == {turn.text: normalize_text(turn.text) for turn in transcript.turns}
    stored_for = {row[0] for row in db.execute("select call_id from normalized_texts")}
    assert stored_for == {"1795184105.11", "1795186960.22"}


@pytest.mark.models
def test_second_run_does_nothing_new(site, first_run):
    code, output = qa(
        "run", "--config", str(site / "site.toml"), "--db", str(site / "qa.db"), "--json"
    )
    summary = json.loads(output)
    assert code == 0, output  # the failure was reported by the first run; nothing new failed
    assert (summary["done"], summary["already_done"], summary["not_retried"]) == (0, 2, 1)
    assert summary["failed"] == []
    db = open_db(site / "qa.db")
    assert db.execute("select count(*) from transcripts").fetchone()[0] == 2
    assert db.execute("select count(*) from scorecards").fetchone()[0] == 2


@pytest.mark.models
def test_each_run_writes_its_report_to_the_report_path(site, first_run, tmp_path):
    code, output = run_site(site, "--json", "--report", str(tmp_path / "run-{run_id}.json"))
    printed = json.loads(output)
    written = json.loads((tmp_path / f"run-{printed['run_id']}.json").read_text())
    assert written == printed
    assert (written["exit_code"], written["needs_attention"], written["status"]) == (
        0,
        False,
        "finished",
    )
    assert written["device"]["device"] in ("cpu", "cuda")
    assert written["executor"] == {} and written["timings"]["ingest"] >= 0  # nothing to transcribe
    code, output = qa("runs", "--db", str(site / "qa.db"), "--json", "--last", "1")
    assert code == 0 and json.loads(output) == written


@pytest.mark.models
def test_retry_failed_tries_the_corrupt_call_again(site, first_run):
    code, output = run_site(site, "--retry-failed")
    assert code == 1
    assert "FAILED 1" in output and "1795203015.44" in output


@pytest.mark.models
def test_scores_json_fields(site, first_run):
    code, output = qa("scores", "--db", str(site / "qa.db"), "--json")
    assert code == 0
    rows = {row["call_id"]: row for row in map(json.loads, output.splitlines())}
    assert set(rows) == {"1795184105.11", "1795186960.22"}
    alice = rows["1795184105.11"]
    assert alice["recording"] == f"2026/11/20/{CALLS[0][0]}.wav"
    assert alice["start"] == "2026-11-20T14:15:05+00:00"  # the uniqueid's epoch, in UTC
    assert (alice["agent"], alice["language"], alice["rubric"]) == ("1001", "en", "test-service")
    items = {item["id"]: item for item in alice["items"]}
    assert items["greeting"]["result"] == "pass"
    (evidence,) = items["greeting"]["evidence"]
    assert evidence["speaker"] == "agent" and "thank you for calling" in evidence["text"].lower()
    assert evidence["end"] > evidence["start"] >= 0
    assert [flag["id"] for flag in alice["flags"]] == ["complaint"]
    assert alice["flags"][0]["evidence"][0]["speaker"] == "customer"
    assert (alice["score"], alice["max_score"], alice["passed"]) == (100, 100, True)
    bob = rows["1795186960.22"]
    assert bob["recording"] == f"2026/11/20/{CALLS[1][0]}-r.wav"  # the first leg
    assert {item["id"]: item["result"] for item in bob["items"]} == {
        "greeting": "fail",
        "closing": "pass",
    }
    assert bob["passed"] is False and bob["flags"] == []


@pytest.mark.models
def test_agents_csv(site, first_run):
    code, output = qa("agents", "--db", str(site / "qa.db"), "--csv")
    assert code == 0
    rows = {row["agent"]: row for row in csv.DictReader(io.StringIO(output))}
    assert set(rows) == {"1001", "1002"}
    assert rows["1001"]["complaints"] == "1"
    assert rows["1002"]["pass_rate:greeting"] == "0.0000"
    assert rows["1002"]["pass_rate:closing"] == "1.0000"


@pytest.mark.models
def test_a_new_rubric_version_rescores_done_calls_without_transcribing(site, first_run, tmp_path):
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "test-service.yaml").write_text(
        RUBRIC.replace('version: "1"', 'version: "2"').replace("first_turns: 1", "first_turns: 2")
    )
    code, output = run_site(site, "--rubrics", str(rubrics), "--json")
    summary = json.loads(output)
    assert code == 0, output
    assert (summary["done"], summary["rescored"], summary["audio_minutes"]) == (0, 2, 0)
    code, output = qa("scores", "--db", str(site / "qa.db"), "--json")
    assert {json.loads(line)["rubric_version"] for line in output.splitlines()} == {"2"}
    db = open_db(site / "qa.db")
    assert db.execute("select count(*) from scorecards").fetchone()[0] == 4  # v1 rows kept
    assert db.execute("select count(*) from transcripts").fetchone()[0] == 2


# --- set-up problems stop the run before any work, with one line saying what to do ------------


def test_without_a_store_the_run_says_which_flag_to_pass(tmp_path):
    result = CliRunner().invoke(main, ["run", "--db", str(tmp_path / "qa.db")])
    assert result.exit_code == 1
    assert "store is not set: pass --store" in result.output
    assert not (tmp_path / "qa.db").exists()


def test_an_invalid_rubric_stops_the_run(tmp_path):
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "bad.yaml").write_text(
        RUBRIC.replace("pass_mark: 100", "pass_mark: 100\npassmark: 1")
    )
    (tmp_path / "monitor").mkdir()
    args = ["run", "--store", str(tmp_path / "monitor"), "--db", str(tmp_path / "qa.db")]
    result = CliRunner().invoke(main, [*args, "--rubrics", str(rubrics)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output and "passmark" in result.output
    assert not (tmp_path / "qa.db").exists()


def test_missing_models_stop_the_run_with_the_fix(tmp_path):
    (tmp_path / "monitor").mkdir()
    args = ["run", "--store", str(tmp_path / "monitor"), "--db", str(tmp_path / "qa.db")]
    result = CliRunner().invoke(main, [*args, "--models-dir", str(tmp_path / "no-models")])
    assert result.exit_code == 1
    assert "qa models fetch" in result.output
    assert not (tmp_path / "qa.db").exists()
