"""Every way a PBX lays out its recordings and call records: the flat plain-Asterisk monitor
folder beside FreePBX's day tree, one-touch ``auto-`` recordings, every audio format, Master.csv
with and without its optional columns and in local time or GMT, and what queue_log adds."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import soundfile as sf
from pbx_store import (
    OLD,
    master_csv_row,
    queue_call_lines,
    set_mtime,
    write_format,
    write_header_only,
    write_lines,
    write_wav,
)

from asr.audio import load_call_audio
from calldata import Direction, HangupBy
from qa.config import AgentEntry, Config
from qa.ingest import Action, NameLayout, ingest, parse_recording_name, read_master_csv
from qa.ingest.queue_log import parse_queue_log_lines

AGENTS = (
    AgentEntry(id="1001", name="Alice Smith", identities=("1001", "PJSIP/1001", "Alice Smith")),
    AgentEntry(id="1002", name="Bob Jones", identities=("Local/1002@from-queue/n", "Bob Jones")),
)


def store_config(tmp_path: Path, **settings) -> Config:
    return Config(store=tmp_path / "monitor", timezone="America/New_York", **settings)


def by_name(result) -> dict[str, tuple[Action, str]]:
    return {Path(d.path).name: (d.action, d.reason) for d in result.decisions}


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "layout", "uniqueid", "leg", "epoch", "parties"),
    [
        ("1705347015.101.wav", NameLayout.UNIQUEID, "1705347015.101", None, 1705347015, None),
        ("1705347015.101-in.WAV", NameLayout.UNIQUEID, "1705347015.101", "in", 1705347015, None),
        ("pbx-2-1705347015.101-out.gsm", NameLayout.UNIQUEID, "pbx-2-1705347015.101", "out",
         1705347015, None),
        ("auto-1705347015-1001-5551234567.wav", NameLayout.AUTO, None, None, 1705347015,
         ("1001", "5551234567")),
        ("auto-1705347015-PJSIP-1001-0000001f-5551234567-in.wav", NameLayout.AUTO, None, "in",
         1705347015, ("PJSIP/1001-0000001f", "5551234567")),
    ],
)  # fmt: skip
def test_plain_asterisk_names(filename, layout, uniqueid, leg, epoch, parties):
    name = parse_recording_name(filename)
    assert (name.layout, name.uniqueid, name.leg, name.epoch) == (layout, uniqueid, leg, epoch)
    if parties is not None:
        assert (name.source, name.destination) == parties
    assert name.local_time is None


# --- layouts -------------------------------------------------------------------------------------


def test_flat_monitor_folder_beside_the_freepbx_tree(tmp_path):
    config = store_config(tmp_path, queue_log=tmp_path / "queue_log", agents=AGENTS)
    root = config.store
    # Plain-Asterisk queue recordings, named by the caller channel's uniqueid, in the root.
    write_wav(root / "1705347015.101-in.wav", freq=300)  # Monitor(): legacy legs
    write_wav(root / "1705347015.101-out.wav", freq=700)
    write_format(root / "1705350000.7.WAV")  # MixMonitor, GSM in WAV
    write_header_only(root / "1705351111.9.wav")
    write_wav(root / "2024/01/15/out-5559990000-1001-20240115-171500-1705356900.12.wav")
    write_lines(
        config.queue_log,
        queue_call_lines("1705347015.101", agent="Bob Jones", hangup="COMPLETEAGENT")
        + queue_call_lines("1705350000.7", queue="601", agent="Alice Smith"),
    )
    result = ingest(config)
    calls = {call.call_id: call for call in result.calls}
    assert set(calls) == {"1705347015.101", "1705350000.7", "1705356900.12"}
    legs = calls["1705347015.101"]
    assert legs.recordings == ("1705347015.101-in.wav", "1705347015.101-out.wav")
    assert (legs.direction, legs.queue, legs.agent) == (Direction.INBOUND, "600", "1002")
    assert legs.hangup_by == HangupBy.AGENT  # COMPLETEAGENT: the agent hung up first
    assert (legs.hold_seconds, legs.talk_seconds) == (19, 300)
    assert legs.start == datetime(2024, 1, 15, 19, 30, 15, tzinfo=UTC)
    assert (calls["1705350000.7"].queue, calls["1705350000.7"].agent) == ("601", "1001")
    assert calls["1705356900.12"].direction == Direction.OUTBOUND
    assert by_name(result)["1705351111.9.wav"][0] == Action.SKIP


def test_one_touch_recordings_are_known_by_their_content(tmp_path):
    config = store_config(tmp_path, db=tmp_path / "qa.db", agents=AGENTS)
    first = write_wav(config.store / "auto-1705347015-1001-5551234567.wav", seconds=0.7)
    (call,) = ingest(config).calls
    assert call.call_id == "auto-1705347015-1001-5551234567"
    assert call.start == datetime.fromtimestamp(1705347015, UTC)
    assert (call.agent, call.caller) == ("1001", "1001")
    # The same audio again, under another name in another folder (a NAS copy): not a new call.
    copy = config.store / "archive" / "auto-1705347020-1001-5551234567.wav"
    copy.parent.mkdir()
    shutil.copy2(first, copy)
    again = ingest(config)
    assert again.new_call_ids == set()
    assert by_name(again)[copy.name] == (Action.SKIP, f"the same audio as call {call.call_id}")


def test_the_same_audio_in_both_layouts_is_one_call(tmp_path):
    config = store_config(tmp_path, db=tmp_path / "qa.db")
    freepbx = write_wav(
        config.store / "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav"
    )
    flat = config.store / "1705347015.101.wav"
    shutil.copy2(freepbx, flat)
    other = write_wav(config.store / "ondemand-s-1002-20240115-143200-1705347015.101.wav", 0.3)
    result = ingest(config)
    taken = {call.call_id: call.recordings for call in result.calls}
    assert sorted(taken.values()) == [
        ("2024/01/15/" + freepbx.name,),
        (other.name,),  # a different recording of the same call (an on-demand one): kept
    ]
    action, reason = by_name(result)[flat.name]
    assert action == Action.SKIP and reason == f"the same audio as 2024/01/15/{freepbx.name}"


@pytest.mark.parametrize(
    "extension", ["wav", "wav16", "WAV", "wav49", "gsm", "ulaw", "alaw", "mp3"]
)
def test_every_format_is_taken_and_decodes(tmp_path, extension):
    config = store_config(tmp_path)
    write_format(
        config.store / f"2024/01/15/in-8005551212-5557654321-20240115-143015-1705347015.101"
        f".{extension}",
        seconds=1.0,
    )
    (call,) = ingest(config).calls
    audio = load_call_audio([config.store / path for path in call.recordings])
    assert audio.duration == pytest.approx(1.0, abs=0.07)
    assert float(abs(audio.channels[0]).max()) > 0.1


def test_header_only_gsm_wav_is_unanswered_and_its_mp3_copy_too(tmp_path):
    config = store_config(tmp_path)
    day = config.store / "2024/01/15"
    empty = day / "q-600-5551234567-20240115-143015-1705347015.101.WAV"
    day.mkdir(parents=True)
    sf.write(empty, [], 8000, format="WAV", subtype="GSM610")  # wav49 header: more than 44 bytes
    set_mtime(empty, OLD)
    write_format(empty.with_suffix(".mp3"), seconds=0.05)
    result = ingest(config)
    assert result.calls == []
    reasons = by_name(result)
    assert "never answered" in reasons[empty.name][1]
    assert "never answered" in reasons[empty.with_suffix(".mp3").name][1]


# --- Master.csv variants -----------------------------------------------------------------------

ROW = {
    "src": "5551234567",
    "dst": "600",
    "answer": "2024-01-15 14:30:34",
    "end": "2024-01-15 14:35:34",
    "duration": 319,
    "billsec": 300,
    "dstchannel": "Local/1002@from-queue-0000000d;1",
}


@pytest.mark.parametrize(
    "extra",
    [
        {},  # the plain 16 columns: found by the start time in the name and the number
        {"uniqueid": "1705347015.101"},
        {"uniqueid": "1705347015.101", "userfield": "vip"},
        {"uniqueid": "1705347015.101", "userfield": "", "linkedid": "1705347015.101"},
        {"linkedid": "1705347015.101"},
    ],
)
def test_master_csv_layouts_attribute_the_recording(tmp_path, extra):
    config = store_config(tmp_path, cdr_csv=tmp_path / "Master.csv", agents=AGENTS)
    write_wav(config.store / "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav")
    write_lines(config.cdr_csv, [master_csv_row(start="2024-01-15 14:30:15", **ROW, **extra)])
    (call,) = ingest(config).calls
    assert (call.disposition, call.billsec, call.agent) == ("ANSWERED", 300, "1002")


def test_master_csv_in_gmt(tmp_path, caplog):
    row = dict(ROW, answer="2024-01-15 19:30:34", end="2024-01-15 19:35:34")
    path = tmp_path / "Master.csv"
    gmt = master_csv_row(start="2024-01-15 19:30:15", uniqueid="1705347015.101", **row)
    write_lines(path, [gmt])
    config = store_config(tmp_path, cdr_csv=path, cdr_utc=True)
    write_wav(config.store / "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav")
    (record,) = read_master_csv(path, config.zone, utc=True).records
    assert record.start == datetime(2024, 1, 15, 19, 30, 15, tzinfo=UTC)
    assert record.local_start == datetime(2024, 1, 15, 14, 30, 15)
    assert ingest(config).calls[0].duration == 319
    # Read as local time, GMT rows sit five hours off the uniqueid epochs: a warning says so.
    write_lines(path, [gmt] * 3)
    with caplog.at_level(logging.WARNING):
        read_master_csv(path, config.zone, utc=False)
    assert "set cdr_utc = true" in caplog.text


# --- queue_log ---------------------------------------------------------------------------------


def test_queue_log_transfers_exits_and_ring_time():
    log = parse_queue_log_lines(
        [
            "1705347015|1705347015.101|600|NONE|ENTERQUEUE||5551234567|1",
            "1705347034|1705347015.101|600|Bob Jones|CONNECT|19|1705347030.104|4",
            "1705347100|1705347015.101|600|Bob Jones|ATTENDEDTRANSFER|BRIDGE|1705347090.9|19|66|1",
            "1705348000|1705348000.5|601|NONE|ENTERQUEUE||5550001111|1",
            "1705348300|1705348000.5|601|NONE|EXITWITHTIMEOUT|1|1|300",
            "1705349000|1705349000.6|600|NONE|ENTERQUEUE||5550002222|1",
            "1705349010|1705349000.6|600|NONE|ABANDON|1|1|10",
        ]
    )
    transferred = log.find("1705347015.101")
    assert transferred.transferred and transferred.outcome == "ATTENDEDTRANSFER"
    assert (transferred.hold_seconds, transferred.talk_seconds, transferred.ring_seconds) == (
        19,
        66,
        4,
    )
    assert transferred.transfer_target == "BRIDGE"
    timeout = log.find("1705348000.5")
    assert (timeout.outcome, timeout.abandoned, timeout.agent) == ("EXITWITHTIMEOUT", False, None)
    assert log.find("1705349000.6").abandoned


def test_a_transferred_queue_call_says_so(tmp_path):
    config = store_config(tmp_path, queue_log=tmp_path / "queue_log", agents=AGENTS)
    write_wav(config.store / "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav")
    transfer = "1705347100|1705347015.101|600|Bob Jones|BLINDTRANSFER|2001|from-internal|19|66|1"
    lines = [*queue_call_lines("1705347015.101")[:3], transfer]
    write_lines(config.queue_log, lines)
    (call,) = ingest(config).calls
    assert call.transferred and call.hangup_by == HangupBy.UNKNOWN
    assert (call.agent, call.talk_seconds) == ("1002", 66)
    assert datetime.now(UTC).timestamp() > OLD
