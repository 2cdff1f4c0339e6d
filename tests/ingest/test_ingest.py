"""Ingest from a FreePBX store: recording names, the spool walk, Master.csv, queue_log, agents.

Fixture stores are built in tmp_path with real WAV files, in the layout and with the lines the
reference (docs: asterisk-store) describes.
"""

from __future__ import annotations

import gzip
import os
import time
import wave
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from calldata import Direction, HangupBy
from qa.config import AgentEntry, Config
from qa.ingest import (
    AgentDirectory,
    RecordingNameError,
    SkipStatus,
    SpoolError,
    ingest,
    parse_recording_name,
    read_master_csv,
    read_queue_log,
    walk_spool,
)
from qa.ingest.queue_log import queue_log_files

NEW_YORK = ZoneInfo("America/New_York")
OLD = time.time() - 3600  # an hour ago: finished recordings


def write_wav(path: Path, seconds: float = 0.5, channels: int = 1, rate: int = 8000) -> Path:
    """A real PCM WAV with a tone on each channel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    tones = [0.3 * np.sin(2 * np.pi * (300 + 200 * c) * t) for c in range(channels)]
    frames = (np.stack(tones, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    os.utime(path, (OLD, OLD))
    return path


def write_header_only(path: Path) -> Path:
    """What MixMonitor leaves for a call that was never answered."""
    write_wav(path, seconds=0)
    assert path.stat().st_size == 44
    os.utime(path, (OLD, OLD))
    return path


def write_in_progress(path: Path) -> Path:
    """A WAV whose header sizes are still 0, as while MixMonitor is writing it."""
    write_wav(path, seconds=1)
    data = bytearray(path.read_bytes())
    data[4:8] = b"\0\0\0\0"
    data[40:44] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    os.utime(path, (OLD, OLD))
    return path


# --- recording names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "direction"),
    [
        ("in", Direction.INBOUND),
        ("q", Direction.INBOUND),
        ("rg", Direction.INBOUND),
        ("external", Direction.INBOUND),
        ("out", Direction.OUTBOUND),
        ("internal", Direction.INTERNAL),
        ("exten", Direction.INTERNAL),
        ("ondemand", Direction.UNKNOWN),
        ("parked", Direction.UNKNOWN),
        ("force", Direction.UNKNOWN),
    ],
)
def test_recording_types_give_the_direction(kind, direction):
    name = parse_recording_name(f"{kind}-600-5551234567-20240115-143015-1705347015.101.wav")
    assert name.kind == kind
    assert name.direction == direction


def test_queue_recording_name_from_the_reference():
    name = parse_recording_name("q-600-5551234567-20240115-143015-1705347015.101.wav")
    assert (name.destination, name.source) == ("600", "5551234567")
    assert name.local_time == datetime(2024, 1, 15, 14, 30, 15)
    assert name.uniqueid == "1705347015.101"
    assert name.epoch == 1705347015
    assert name.leg is None
    assert name.extension == "wav"


def test_uniqueid_with_system_name_prefix_and_dashes():
    name = parse_recording_name("out-5557654321-1001-20240115-160211-pbx-east-2-1705352531.140.wav")
    assert name.uniqueid == "pbx-east-2-1705352531.140"
    assert name.epoch == 1705352531
    assert (name.destination, name.source) == ("5557654321", "1001")
    assert name.stem == "out-5557654321-1001-20240115-160211-pbx-east-2-1705352531.140"


@pytest.mark.parametrize(("leg", "channel"), [("r", 0), ("t", 1), ("in", 0), ("out", 1)])
def test_leg_suffixes(leg, channel):
    name = parse_recording_name(f"q-600-unknown-20240115-143015-1705347015.101-{leg}.WAV")
    assert name.leg == leg
    assert name.channel == channel
    assert name.uniqueid == "1705347015.101"
    assert name.extension == "WAV"
    assert name.stem == "q-600-unknown-20240115-143015-1705347015.101"


def test_dest_s_and_unknown_caller_are_kept_as_named():
    name = parse_recording_name("ondemand-s-unknown-20240115-143015-1705347015.101.gsm")
    assert (name.destination, name.source) == ("s", "unknown")


@pytest.mark.parametrize(
    "filename",
    [
        "voicemail-greeting.wav",
        "q-600-5551234567-20241315-143015-1705347015.101.wav",  # month 13
        "q-600-5551234567-20240115-143015-1705347015.101.txt",
    ],
)
def test_names_that_are_not_recordings_are_refused(filename):
    with pytest.raises(RecordingNameError):
        parse_recording_name(filename)


# --- the spool ----------------------------------------------------------------------------------


@pytest.fixture
def spool(tmp_path) -> Path:
    """A FreePBX monitor tree with one of each situation a nightly job meets."""
    root = tmp_path / "monitor"
    day = root / "2024" / "01" / "15"
    write_wav(day / "q-600-5551234567-20240115-143015-1705347015.101.wav", channels=2)
    write_wav(day / "q-600-5554445555-20240115-150000-1705348800.7-r.wav")
    write_wav(day / "q-600-5554445555-20240115-150000-1705348800.7-t.wav")
    write_header_only(day / "in-8005551212-5557654321-20240115-160211-1705352531.140.wav")
    write_in_progress(day / "q-600-5550001111-20240115-170000-1705356000.9.wav")
    # converted afterwards: a half-length mp3 beside the original wav
    write_wav(day / "out-5559990000-1002-20240115-171500-1705356900.12.wav")
    mp3 = day / "out-5559990000-1002-20240115-171500-1705356900.12.mp3"
    mp3.write_bytes(b"ID3" + b"\0" * 99)
    os.utime(mp3, (OLD, OLD))
    write_wav(day / "greeting.wav")
    (day / "notes.txt").write_text("not audio")
    (day / "q-600-5552223333-20240115-171800-1705357080.4.wav").symlink_to(day / "gone.wav")
    # a day folder replaced by a symlink to a NAS
    nas_day = tmp_path / "nas" / "16"
    write_wav(nas_day / "internal-1002-1001-20240116-090000-1705413600.3.wav")
    (root / "2024" / "01" / "16").symlink_to(nas_day, target_is_directory=True)
    return root


def test_spool_walk_groups_legs_and_sets_aside_what_cannot_be_taken(spool):
    scan = walk_spool(spool, min_age_seconds=60)
    taken = sorted(recording.paths for recording in scan.recordings)
    assert taken == [
        ("2024/01/15/out-5559990000-1002-20240115-171500-1705356900.12.wav",),
        ("2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav",),
        (
            "2024/01/15/q-600-5554445555-20240115-150000-1705348800.7-r.wav",
            "2024/01/15/q-600-5554445555-20240115-150000-1705348800.7-t.wav",
        ),
        ("2024/01/16/internal-1002-1001-20240116-090000-1705413600.3.wav",),
    ]
    aside = {Path(item.path).name: item for item in scan.skipped}
    assert set(aside) == {
        "in-8005551212-5557654321-20240115-160211-1705352531.140.wav",
        "q-600-5550001111-20240115-170000-1705356000.9.wav",
        "out-5559990000-1002-20240115-171500-1705356900.12.mp3",
        "greeting.wav",
        "q-600-5552223333-20240115-171800-1705357080.4.wav",
    }
    unanswered = aside["in-8005551212-5557654321-20240115-160211-1705352531.140.wav"]
    assert unanswered.status == SkipStatus.SKIPPED
    assert "never answered" in unanswered.reason
    recording = aside["q-600-5550001111-20240115-170000-1705356000.9.wav"]
    assert recording.status == SkipStatus.DEFERRED
    assert "still being recorded" in recording.reason
    converted = aside["out-5559990000-1002-20240115-171500-1705356900.12.mp3"]
    assert converted.status == SkipStatus.SKIPPED
    assert "another format" in converted.reason
    assert aside["greeting.wav"].status == SkipStatus.SKIPPED
    broken = aside["q-600-5552223333-20240115-171800-1705357080.4.wav"]
    assert broken.status == SkipStatus.FAILED
    assert broken.uniqueid == "1705357080.4"
    assert "q-600-5552223333" in broken.reason  # the path is named


def test_recently_modified_files_are_deferred_until_old_enough(tmp_path):
    root = tmp_path / "monitor"
    path = write_wav(root / "2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav")
    now = path.stat().st_mtime + 30
    scan = walk_spool(root, min_age_seconds=120, now=now)
    assert not scan.recordings
    assert scan.skipped[0].status == SkipStatus.DEFERRED
    assert "modified 30s ago" in scan.skipped[0].reason
    assert len(walk_spool(root, min_age_seconds=120, now=now + 100).recordings) == 1


def test_a_call_waits_while_one_of_its_legs_is_still_recording(tmp_path):
    root = tmp_path / "monitor"
    write_wav(root / "q-600-5554445555-20240115-150000-1705348800.7-r.wav")
    write_in_progress(root / "q-600-5554445555-20240115-150000-1705348800.7-t.wav")
    scan = walk_spool(root)
    assert not scan.recordings
    assert {item.status for item in scan.skipped} == {SkipStatus.DEFERRED}
    assert len(scan.skipped) == 2


def test_header_never_finalised_a_day_later_needs_a_person(tmp_path):
    root = tmp_path / "monitor"
    path = write_in_progress(root / "q-600-5550001111-20240115-170000-1705356000.9.wav")
    scan = walk_spool(root, now=path.stat().st_mtime + 2 * 86400)
    assert scan.skipped[0].status == SkipStatus.FAILED
    assert "repair the header" in scan.skipped[0].reason


def test_legs_win_over_a_mixed_copy_of_the_same_call(tmp_path):
    root = tmp_path / "monitor"
    stem = "q-600-5554445555-20240115-150000-1705348800.7"
    write_wav(root / f"{stem}.wav")
    write_wav(root / f"{stem}-r.wav")
    write_wav(root / f"{stem}-t.wav")
    scan = walk_spool(root)
    assert [r.paths for r in scan.recordings] == [(f"{stem}-r.wav", f"{stem}-t.wav")]
    assert scan.skipped[0].path == f"{stem}.wav"


def test_a_store_that_is_not_a_folder_is_an_error(tmp_path):
    with pytest.raises(SpoolError, match="not a folder"):
        walk_spool(tmp_path / "missing")


# --- Master.csv ---------------------------------------------------------------------------------

REFERENCE_ROWS = (
    '"","5551234567","600","ext-queues","""John Caller"" <5551234567>","PJSIP/trunk1-00000021",'
    '"Local/1002@from-queue-0000000d;1","Queue","600,t,,,,,,,,","2024-01-15 14:30:15",'
    '"2024-01-15 14:30:34","2024-01-15 14:35:34",319,300,"ANSWERED","DOCUMENTATION",'
    '"1705347015.101",""\n'
    '"","5557654321","1001","from-did-direct","""WIRELESS CALLER"" <5557654321>",'
    '"PJSIP/trunk1-00000030","PJSIP/1001-00000031","Dial","PJSIP/1001,,HhTtrb",'
    '"2024-01-15 16:02:11",,"2024-01-15 16:02:41",30,0,"NO ANSWER","DOCUMENTATION",'
    '"1705352531.140",""\n'
)


def test_master_csv_reference_rows_with_uniqueid_and_userfield(tmp_path):
    path = tmp_path / "Master.csv"
    path.write_text(REFERENCE_ROWS)
    cdr = read_master_csv(path, NEW_YORK)
    assert len(cdr) == 2
    queued = cdr.find("1705347015.101")
    assert queued.clid == '"John Caller" <5551234567>'
    assert queued.dstchannel == "Local/1002@from-queue-0000000d;1"
    assert queued.lastdata == "600,t,,,,,,,,"
    assert queued.start == datetime(2024, 1, 15, 19, 30, 15, tzinfo=UTC)  # EST is UTC-5
    assert (queued.duration, queued.billsec, queued.disposition) == (319, 300, "ANSWERED")
    unanswered = cdr.find("1705352531.140")
    assert unanswered.answer is None
    assert unanswered.disposition == "NO ANSWER"


def _row(*extra: str, start: str = "2024-07-15 14:30:15", disposition: str = "ANSWERED") -> str:
    base = [
        '""', '"5551234567"', '"600"', '"ext-queues"', '"""Caller"" <5551234567>"',
        '"PJSIP/trunk1-00000021"', '"PJSIP/1002-00000022"', '"Queue"', '"600,t"', f'"{start}"',
        f'"{start}"', f'"{start}"', "319", "300", f'"{disposition}"', '"DOCUMENTATION"',
    ]  # fmt: skip
    return ",".join(base + [f'"{value}"' for value in extra]) + "\n"


@pytest.mark.parametrize(
    ("extra", "uniqueid", "userfield", "linkedid"),
    [
        ((), None, None, None),
        (("1721068215.5",), "1721068215.5", None, None),
        (("vip",), None, "vip", None),
        (("1721068215.5", "vip"), "1721068215.5", "vip", None),
        (("", "1721068215.1", "3"), None, None, "1721068215.1"),
        (("pbx-1721068215.5", "", "1721068215.1", "3"), "pbx-1721068215.5", None, "1721068215.1"),
        (("1721068215.5", "vip", "", "1721068215.1", "3"), "1721068215.5", "vip", "1721068215.1"),
    ],
)
def test_master_csv_optional_columns_by_width(tmp_path, extra, uniqueid, userfield, linkedid):
    path = tmp_path / "Master.csv"
    path.write_text(_row(*extra))
    record = read_master_csv(path, NEW_YORK).records[0]
    assert (record.uniqueid, record.userfield, record.linkedid) == (uniqueid, userfield, linkedid)
    assert record.start == datetime(2024, 7, 15, 18, 30, 15, tzinfo=UTC)  # EDT is UTC-4
    assert record.dstchannel == "PJSIP/1002-00000022"


def test_master_csv_prefers_the_answered_row_and_finds_rows_without_uniqueid(tmp_path):
    path = tmp_path / "Master.csv"
    path.write_text(
        _row("1721068215.5", "", disposition="NO ANSWER")
        + _row("1721068215.5", "")
        + _row(start="2024-07-15 15:00:00")
    )
    cdr = read_master_csv(path, NEW_YORK)
    assert cdr.find("1721068215.5").disposition == "ANSWERED"
    # rows without uniqueid: by the wall-clock start in the recording's name, and a number
    by_time = cdr.find(
        "1721070000.1", local_start=datetime(2024, 7, 15, 15, 0), numbers=("600", "5551234567")
    )
    assert by_time is not None and by_time.start == datetime(2024, 7, 15, 19, 0, tzinfo=UTC)
    assert cdr.find("1721070000.1", local_start=datetime(2024, 7, 15, 15, 0)) is None


# --- queue_log ----------------------------------------------------------------------------------

REFERENCE_QUEUE_LOG = """\
1705347000|NONE|600|Local/1002@from-queue/n|ADDMEMBER|
1705347015|1705347015.101|600|NONE|DID|8005551212
1705347015|1705347015.101|600|NONE|ENTERQUEUE||5551234567|1
1705347030|1705347015.101|600|Alice Smith|RINGNOANSWER|15000
1705347034|1705347015.101|600|Bob Jones|CONNECT|19|1705347030.104|4
1705347334|1705347015.101|600|Bob Jones|COMPLETECALLER|19|300|1
"""


def test_queue_log_reference_call(tmp_path):
    path = tmp_path / "queue_log"
    path.write_text(REFERENCE_QUEUE_LOG)
    call = read_queue_log(path).find("1705347015.101")
    assert call.queue == "600"
    assert call.agent == "Bob Jones"
    assert call.hangup_by == HangupBy.CUSTOMER
    assert (call.did, call.caller) == ("8005551212", "5551234567")
    assert (call.hold_seconds, call.talk_seconds) == (19, 300)
    # the answering member's channel finds the same call
    assert read_queue_log(path).find("1705347030.104") == call


def test_queue_log_rotated_files_including_gz_are_read_oldest_first(tmp_path):
    live = tmp_path / "queue_log"
    older = tmp_path / "queue_log.1"
    oldest = tmp_path / "queue_log.2.gz"
    with gzip.open(oldest, "wt") as handle:
        handle.write(
            "1705000000|1705000000.1|601|NONE|ENTERQUEUE||13800138000|1\n"
            "1705000005|1705000000.1|601|Wang Fang|CONNECT|5|1705000004.2|1\n"
        )
    older.write_text(
        "1705000100|1705000000.1|601|Wang Fang|COMPLETEAGENT|5|95|1\n"
        "1705100000|1705100000.3|600|NONE|ENTERQUEUE||5551112222|1\n"
        "1705100030|1705100000.3|600|NONE|ABANDON|1|1|30\n"
    )
    live.write_text(
        "1705200000|1705200000.4|600|NONE|ENTERQUEUE||5553334444|1\n"
        "1705200003|1705200000.4|600|Alice Smith|CONNECT|3|1705200002.5|2\n"
        "1705200010|1705200000.4|600|Alice Smith|BLINDTRANSFER|2000|default|3|60|1\n"
    )
    (tmp_path / "queue_log.bak").write_text("1|x|600|NONE|ENTERQUEUE||1|1\n")
    assert queue_log_files(live) == [oldest, older, live]
    queue_log = read_queue_log(live)
    assert len(queue_log) == 3
    spanning = queue_log.find("1705000000.1")  # CONNECT in .2.gz, COMPLETEAGENT in .1
    assert (spanning.queue, spanning.agent, spanning.hangup_by) == ("601", "Wang Fang", "agent")
    assert queue_log.find("1705100000.3").abandoned
    transferred = queue_log.find("1705200000.4")
    assert transferred.transferred and transferred.hangup_by == HangupBy.UNKNOWN


def test_missing_queue_log_is_an_error_naming_it(tmp_path):
    with pytest.raises(OSError, match="no such queue_log"):
        read_queue_log(tmp_path / "queue_log")


# --- agents and whole calls ---------------------------------------------------------------------

AGENTS = (
    AgentEntry(id="1001", name="Alice Smith", identities=("1001", "PJSIP/1001", "Alice Smith")),
    AgentEntry(id="1002", name="Bob Jones", identities=("Local/1002@from-queue/n", "Bob Jones")),
)


@pytest.mark.parametrize(
    ("identity", "agent_id"),
    [
        ("Alice Smith", "1001"),
        ("alice smith ", "1001"),
        ("PJSIP/1001-00000031", "1001"),
        ("Local/1001@from-queue-0000000d;1", "1001"),  # by the extension inside the channel
        ("Local/1002@from-queue-0000000d;2", "1002"),
        ("Local/1002@from-queue/n", "1002"),
        ("PJSIP/trunk1-00000021", None),
        ("NONE", None),
        (None, None),
    ],
)
def test_agent_directory_resolves_pbx_identities(identity, agent_id):
    agent = AgentDirectory(AGENTS).resolve(identity)
    assert (agent.id if agent else None) == agent_id


def test_ingest_assembles_calls_from_names_cdr_and_queue_log(tmp_path):
    root = tmp_path / "monitor"
    day = root / "2024" / "01" / "15"
    write_wav(day / "q-600-5551234567-20240115-143015-1705347015.101.wav", channels=2)
    write_wav(day / "out-5559990000-1001-20240115-171500-1705356900.12-r.wav")
    write_wav(day / "out-5559990000-1001-20240115-171500-1705356900.12-t.wav")
    write_header_only(day / "in-8005551212-5557654321-20240115-160211-1705352531.140.wav")
    (tmp_path / "Master.csv").write_text(REFERENCE_ROWS)
    (tmp_path / "queue_log").write_text(REFERENCE_QUEUE_LOG)
    config = Config(
        store=root,
        cdr_csv=tmp_path / "Master.csv",
        queue_log=tmp_path / "queue_log",
        timezone="America/New_York",
        queue_languages={"600": "en"},
        agents=AGENTS,
    )
    result = ingest(config)
    assert [call.call_id for call in result.calls] == ["1705347015.101", "1705356900.12"]
    queued, outbound = result.calls
    assert queued.recordings == ("2024/01/15/q-600-5551234567-20240115-143015-1705347015.101.wav",)
    assert queued.start == datetime(2024, 1, 15, 19, 30, 15, tzinfo=UTC)
    assert queued.direction == Direction.INBOUND
    assert (queued.queue, queued.agent, queued.agent_name) == ("600", "1002", "Bob Jones")
    assert (queued.caller, queued.destination) == ("5551234567", "600")
    assert (queued.disposition, queued.duration, queued.billsec) == ("ANSWERED", 319, 300)
    assert queued.hangup_by == HangupBy.CUSTOMER
    assert queued.language == "en"
    # no CDR row, no queue_log line: what the name tells
    assert outbound.direction == Direction.OUTBOUND
    assert len(outbound.recordings) == 2 and outbound.recordings[0].endswith("-r.wav")
    assert (outbound.agent, outbound.destination, outbound.disposition) == (
        "1001",
        "5559990000",
        None,
    )
    assert outbound.language is None
    assert [Path(item.path).name for item in result.skipped] == [
        "in-8005551212-5557654321-20240115-160211-1705352531.140.wav"
    ]


def test_recordings_sharing_a_uniqueid_get_distinct_stable_call_ids(tmp_path):
    root = tmp_path / "monitor"
    write_wav(root / "q-600-5551234567-20240115-143015-1705347015.101.wav", seconds=0.8)
    write_wav(root / "ondemand-s-1002-20240115-143200-1705347015.101.wav", seconds=0.3)
    ids = sorted(call.call_id for call in ingest(Config(store=root)).calls)
    assert ids == [
        "1705347015.101/ondemand-s-1002-20240115-143200-1705347015.101",
        "1705347015.101/q-600-5551234567-20240115-143015-1705347015.101",
    ]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Shanghai"])
def test_local_times_convert_exactly_across_daylight_saving_changes(zone):
    from qa.ingest.cdr import local_to_utc

    tz = ZoneInfo(zone)
    # the days around the 2024 changes in New York (Mar 10, Nov 3) and Lord Howe (Apr 7, Oct 6)
    for first_day in (date(2024, 3, 9), date(2024, 4, 6), date(2024, 10, 5), date(2024, 11, 2)):
        instant = datetime.combine(first_day, datetime.min.time(), UTC)
        end = instant + timedelta(days=2)
        while instant < end:
            naive = instant.astimezone(tz).replace(tzinfo=None, fold=0)  # as parsed from text
            # with the uniqueid's epoch as the hint, the repeated hour comes out right both times
            assert local_to_utc(naive, tz, int(instant.timestamp())) == instant
            assert local_to_utc(naive, tz) == naive.replace(tzinfo=tz).astimezone(UTC)
            instant += timedelta(minutes=7)
