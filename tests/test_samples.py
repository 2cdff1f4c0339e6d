"""The bundled sample store is a faithful FreePBX store and matches samples/expected.json.

Fast checks on the committed files (no models); the last test regenerates the store with
espeak-ng and needs the very files that are committed.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import wave
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from qa.ingest.names import parse_recording_name

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
STORE = SAMPLES / "store"
MONITOR = STORE / "monitor"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
SITE = yaml.safe_load((SAMPLES / "calls.yaml").read_text(encoding="utf-8"))["site"]
TZ = ZoneInfo(SITE["timezone"])
CDR_COLUMNS = [
    *("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp"),
    *("lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags"),
    *("uniqueid", "userfield"),
]
# type-dest-from-YYYYMMDD-HHMMSS-uniqueid, parsed from the right (a uniqueid may hold "-").
NAME = re.compile(
    r"^(?P<type>[a-z]+)-(?P<dest>[^-]+)-(?P<src>[^-]+)-(?P<date>\d{8})-(?P<time>\d{6})-"
    r"(?P<uid>\d+\.\d+)(?:-(?P<leg>r|t))?\.wav$"
)
QUEUE_EVENTS = {"ADDMEMBER", "DID", "ENTERQUEUE", "RINGNOANSWER", "CONNECT", "ABANDON"}
QUEUE_EVENTS |= {"COMPLETECALLER", "COMPLETEAGENT"}


def recordings() -> list[Path]:
    return sorted(MONITOR.rglob("*.wav"))


def cdr_rows() -> dict[str, dict[str, str]]:
    with (STORE / "Master.csv").open(newline="", encoding="utf-8") as handle:
        rows = [dict(zip(CDR_COLUMNS, row, strict=True)) for row in csv.reader(handle)]
    return {row["uniqueid"]: row for row in rows}


def queue_log() -> dict[str, list[list[str]]]:
    by_call: dict[str, list[list[str]]] = defaultdict(list)
    for line in (STORE / "queue_log").read_text(encoding="utf-8").splitlines():
        fields = line.split("|")
        by_call[fields[1]].append(fields)
    return by_call


def expected_calls() -> list[dict]:
    return EXPECTED["calls"]


def test_recording_names_are_freepbx_names_in_their_day_folder() -> None:
    assert recordings(), "the sample store has no recordings: run samples/generate.py"
    for path in recordings():
        match = NAME.match(path.name)
        assert match, f"{path.name} is not a FreePBX queue recording name"
        day = datetime.strptime(match["date"], "%Y%m%d")
        assert path.parent.relative_to(MONITOR).as_posix() == f"{day:%Y/%m/%d}"
        # The name's date and time are the PBX's local time of the uniqueid's epoch.
        local = datetime.fromtimestamp(int(match["uid"].split(".")[0]), TZ)
        assert f"{local:%Y%m%d}-{local:%H%M%S}" == f"{match['date']}-{match['time']}"
        parsed = parse_recording_name(path.name)  # the ingest's own parser accepts it
        assert parsed.uniqueid == match["uid"]


def test_every_recording_is_8khz_16bit_pcm_and_layouts_hold() -> None:
    for path in recordings():
        with wave.open(str(path)) as wav:
            assert wav.getframerate() == 8000, path.name
            assert wav.getsampwidth() == 2, path.name
    for call in expected_calls():
        files = [MONITOR / rel for rel in call["recordings"]]
        shapes = []
        for path in files:
            with wave.open(str(path)) as wav:
                shapes.append((wav.getnchannels(), wav.getnframes()))
        if call["layout"] == "stereo":
            assert len(files) == 1 and shapes[0][0] == 2
        elif call["layout"] == "legs":
            assert [f.name[-6:] for f in files] == ["-r.wav", "-t.wav"]
            assert shapes[0] == shapes[1] and shapes[0][0] == 1, "legs must be mono, same length"
        else:
            assert call["layout"] == "mono" and len(files) == 1 and shapes[0][0] == 1
        assert shapes[0][1] == call["duration"] * 8000, "billsec is the audio's length"


def test_unanswered_recording_is_a_44_byte_header_and_expected_as_skipped() -> None:
    empty = [path for path in recordings() if path.stat().st_size == 44]
    assert len(empty) == 1
    skipped = {entry["recording"]: entry for entry in EXPECTED["skipped"]}
    entry = skipped[empty[0].relative_to(MONITOR).as_posix()]
    assert entry["status"] == "skipped" and entry["reason"] == "unanswered"
    with wave.open(str(empty[0])) as wav:
        assert wav.getnframes() == 0


def test_master_csv_is_cdr_csv_format_with_a_row_per_recording() -> None:
    rows = cdr_rows()
    for raw in (STORE / "Master.csv").read_text(encoding="utf-8").splitlines():
        # Integers unquoted, strings quoted; an empty answer date is an empty unquoted field.
        assert re.search(r'",(?:"[^"]*"|),"[^"]*",\d+,\d+,"[A-Z ]+","DOCUMENTATION",', raw), raw
    for path in recordings():
        uniqueid = NAME.match(path.name)["uid"]
        assert uniqueid in rows, f"no Master.csv row for {path.name}"
    for call in expected_calls():
        row = rows[call["call_id"]]
        assert row["disposition"] == "ANSWERED"
        assert re.fullmatch(r'"[^"]+" <\d+>', row["clid"])
        assert row["dstchannel"].startswith(f"Local/{call['agent']}@from-queue-")
        assert row["dstchannel"].endswith(";1")
        start, answer, end = (
            datetime.strptime(row[key], "%Y-%m-%d %H:%M:%S") for key in ("start", "answer", "end")
        )
        assert int(row["billsec"]) == call["duration"] == (end - answer).total_seconds()
        assert int(row["duration"]) == (end - start).total_seconds()
    dispositions = [row["disposition"] for row in rows.values()]
    assert "NO ANSWER" in dispositions


def test_queue_log_has_freepbx_lines_for_each_call() -> None:
    by_call = queue_log()
    for fields in (line for lines in by_call.values() for line in lines):
        assert fields[0].isdigit() and len(fields) >= 5 and fields[4] in QUEUE_EVENTS, fields
    members = {fields[3] for fields in by_call["NONE"] if fields[4] == "ADDMEMBER"}
    rows = cdr_rows()
    for call in expected_calls():
        lines = by_call[call["call_id"]]
        events = [fields[4] for fields in lines]
        assert events[:2] == ["DID", "ENTERQUEUE"]
        assert events.count("CONNECT") == 1
        connect = lines[events.index("CONNECT")]
        assert connect[2] == call["queue"] and connect[3] == call["agent_name"]
        answer = datetime.strptime(rows[call["call_id"]]["answer"], "%Y-%m-%d %H:%M:%S")
        assert int(connect[0]) == int(answer.replace(tzinfo=TZ).timestamp())
        complete = "COMPLETEAGENT" if call["hangup"] == "agent" else "COMPLETECALLER"
        assert events[-1] == complete and int(lines[-1][6]) == call["duration"]
        assert f"Local/{call['agent']}@from-queue/n" in members


def test_expected_json_covers_the_store_and_the_sample_mix() -> None:
    listed = {rel for call in expected_calls() for rel in call["recordings"]}
    listed |= {entry["recording"] for entry in EXPECTED["skipped"]}
    assert listed == {path.relative_to(MONITOR).as_posix() for path in recordings()}
    calls = expected_calls()
    assert len(calls) >= 6
    assert len({call["agent"] for call in calls}) >= 3
    assert {call["language"] for call in calls} == {"en", "zh"}
    assert {call["layout"] for call in calls} == {"stereo", "legs", "mono"}
    for call in calls:
        assert set(call["items"].values()) <= {"pass", "fail", "na"}
    assert [c["call_id"] for c in calls] == sorted(c["call_id"] for c in calls)


def _espeak_version() -> str | None:
    if shutil.which("espeak-ng") is None:
        return None
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    return out.split("text-to-speech:")[1].split()[0]


def test_regenerating_the_store_gives_byte_identical_files(tmp_path: Path) -> None:
    version = _espeak_version()
    if version is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): cannot regenerate")
    if version != EXPECTED["generator"]["espeak_ng"]:
        pytest.skip(
            f"espeak-ng {version} here, the store was made with "
            f"{EXPECTED['generator']['espeak_ng']}: its speech differs by version"
        )
    subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path)], check=True
    )
    committed = sorted(p.relative_to(STORE) for p in STORE.rglob("*") if p.is_file())
    fresh_store = tmp_path / "store"
    fresh = sorted(p.relative_to(fresh_store) for p in fresh_store.rglob("*") if p.is_file())
    assert fresh == committed
    for rel in committed:
        assert (tmp_path / "store" / rel).read_bytes() == (STORE / rel).read_bytes(), rel
    assert (tmp_path / "expected.json").read_bytes() == (SAMPLES / "expected.json").read_bytes()
