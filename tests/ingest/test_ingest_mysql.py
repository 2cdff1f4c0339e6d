"""FreePBX's CDR database on a real MariaDB server (tests/mariadb_server.py): rows tied by
linkedid, the recording found the way FreePBX finds it, ``.wav`` in the CDR with ``.mp3`` on
disk, a row naming a recording the store lacks, columns in another order, CEL's
``LINKEDID_END`` as proof a call is over, and a wrong password."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pbx_store import write_format, write_wav

from calldata import Direction
from qa.config import AgentEntry, Config
from qa.ingest import Action, CdrReadError, ingest

NY = ZoneInfo("America/New_York")
NOW = datetime(2024, 1, 16, 0, 30, tzinfo=NY).timestamp()
WRITTEN = datetime(2024, 1, 15, 18, 0, tzinfo=NY).timestamp()
AGENTS = (
    AgentEntry(id="1001", name="Alice Smith", identities=("1001", "Alice Smith")),
    AgentEntry(id="1002", name="Bob Jones", identities=("1002", "Bob Jones")),
)
QUEUED = "q-600-5551234567-20240115-143015-1705347015.101"
TRANSFERRED = "external-1002-5554445555-20240115-145000-1705349000.20"
CONVERTED = "out-5559990000-1001-20240115-171500-1705356900.12"
MISSING = "in-8005551212-5557770000-20240115-151000-1705349400.30"
ZERO_DATE = "q-600-5558889999-20240115-153000-1705350600.40"
_names = itertools.count()


def row(calldate: str, uniqueid: str, **values) -> dict:
    return {"calldate": calldate, "uniqueid": uniqueid, "linkedid": uniqueid, **values}


@pytest.fixture
def cdr_db(mariadb):
    database = mariadb.create_cdr_database(f"asteriskcdrdb_{next(_names)}")
    yield database
    database.drop()


def site(tmp_path: Path, database, **settings) -> Config:
    return Config(
        store=tmp_path / "monitor",
        cdr_url=database.url,
        timezone="America/New_York",
        agents=AGENTS,
        **settings,
    )


def freepbx_site(tmp_path: Path, database) -> Config:
    """A FreePBX day: a queue call with two ring attempts, a transferred call recorded on the
    second channel, a recording converted to mp3, a row whose recording is gone, and a row with
    FreePBX's zero calldate."""
    day = tmp_path / "monitor" / "2024" / "01" / "15"
    write_wav(day / f"{QUEUED}.wav", channels=2, mtime=WRITTEN)
    write_wav(day / f"{TRANSFERRED}.wav", mtime=WRITTEN)
    write_format(day / f"{CONVERTED}.mp3", mtime=WRITTEN)
    write_wav(day / f"{ZERO_DATE}.wav", mtime=WRITTEN)
    queue = {"src": "5551234567", "dst": "600", "dcontext": "ext-queues", "lastapp": "Queue",
             "channel": "PJSIP/trunk1-00000021", "recordingfile": f"{QUEUED}.wav",
             "did": "8005551212"}  # fmt: skip
    database.insert_cdr(
        [
            row("2024-01-15 14:30:15", "1705347015.101", **queue, disposition="NO ANSWER",
                dstchannel="Local/1001@from-queue-0000000c;1", duration=15, billsec=0),
            row("2024-01-15 14:30:15", "1705347015.101", **queue, disposition="ANSWERED",
                dstchannel="Local/1002@from-queue-0000000d;1", duration=319, billsec=300),
            row("2024-01-15 14:49:50", "1705348990.19", src="5554445555", dst="600",
                disposition="ANSWERED", duration=40, billsec=30, recordingfile=""),
            row("2024-01-15 14:50:00", "1705349000.20", linkedid="1705348990.19",
                src="5554445555", dst="1002", channel="PJSIP/1002-00000031",
                disposition="ANSWERED", duration=200, billsec=190,
                recordingfile=f"{TRANSFERRED}.wav"),
            row("2024-01-15 17:15:00", "1705356900.12", src="1001", dst="5559990000",
                dcontext="from-internal", channel="PJSIP/1001-00000040", disposition="ANSWERED",
                duration=65, billsec=60, recordingfile=f"{CONVERTED}.wav"),
            row("2024-01-15 15:10:00", "1705349400.30", src="5557770000", dst="8005551212",
                disposition="ANSWERED", duration=70, billsec=61,
                recordingfile=f"{MISSING}.wav"),
            row("2024-01-15 15:20:00", "1705350000.35", src="5557770001", dst="8005551212",
                disposition="NO ANSWER", duration=20, billsec=0,
                recordingfile="in-8005551212-5557770001-20240115-152000-1705350000.35.wav"),
            row("0000-00-00 00:00:00", "1705350600.40", src="5558889999", dst="600",
                disposition="ANSWERED", duration=90, billsec=80,
                recordingfile=f"{ZERO_DATE}.wav"),
        ]
    )  # fmt: skip
    return site(tmp_path, database)


def test_freepbx_cdr_database_attributes_each_recording(tmp_path, cdr_db):
    result = ingest(freepbx_site(tmp_path, cdr_db), now=NOW)
    calls = {call.call_id: call for call in result.calls}
    assert set(calls) == {"1705347015.101", "1705348990.19", "1705356900.12", "1705350600.40"}
    queued = calls["1705347015.101"]  # of its two rows, the answered one (Bob's) decides
    assert (queued.disposition, queued.duration, queued.billsec) == ("ANSWERED", 319, 300)
    assert (queued.agent, queued.direction) == ("1002", Direction.INBOUND)
    assert queued.start == datetime(2024, 1, 15, 19, 30, 15, tzinfo=UTC)
    transferred = calls["1705348990.19"]  # recorded on the second channel: the call is the linkedid
    assert transferred.linkedid == "1705348990.19"
    assert transferred.recordings == (f"2024/01/15/{TRANSFERRED}.wav",)
    assert (transferred.billsec, transferred.agent) == (190, "1002")
    converted = calls["1705356900.12"]  # the CDR says .wav, the disk has the .mp3
    assert converted.recordings == (f"2024/01/15/{CONVERTED}.mp3",)
    assert (converted.billsec, converted.direction, converted.agent) == (
        60,
        Direction.OUTBOUND,
        "1001",
    )
    # FreePBX's zero calldate is outside any window: found by its recording lookup instead.
    assert calls["1705350600.40"].billsec == 80
    failed = [d for d in result.decisions if d.action == Action.FAIL]
    assert [(d.path, d.uniqueid) for d in failed] == [
        (f"2024/01/15/{MISSING}.wav", "1705349400.30")
    ]
    assert "not in the store" in failed[0].reason  # the unanswered row's missing file is normal


def test_columns_are_selected_by_name(tmp_path, cdr_db, mariadb):
    other = mariadb.create_cdr_database(
        cdr_db.name + "_issabel",
        cdr_ddl="CREATE TABLE cdr (uniqueid varchar(32), recordingfile varchar(255), "
        "disposition varchar(45), billsec int, calldate datetime, src varchar(80), "
        "dst varchar(80), duration int, channel varchar(80), dstchannel varchar(80), "
        "dcontext varchar(80), clid varchar(80), lastapp varchar(80), lastdata varchar(80))",
    )
    try:
        write_wav(tmp_path / "monitor/2024/01/15" / f"{QUEUED}.wav", mtime=WRITTEN)
        other.insert_cdr(  # Issabel/Elastix: an absolute path, no linkedid column
            [
                {"calldate": "2024-01-15 14:30:15", "uniqueid": "1705347015.101",
                 "disposition": "ANSWERED", "billsec": 300, "duration": 319,
                 "dstchannel": "PJSIP/1001-0000002a", "dcontext": "ext-queues",
                 "recordingfile": f"/var/spool/asterisk/monitor/2024/01/15/{QUEUED}.wav"}
            ]
        )  # fmt: skip
        (call,) = ingest(site(tmp_path, other), now=NOW).calls
        assert (call.call_id, call.billsec, call.agent, call.linkedid) == (
            "1705347015.101",
            300,
            "1001",
            None,
        )
    finally:
        other.drop()


def test_a_call_waits_for_cels_linkedid_end(tmp_path, cdr_db):
    config = site(tmp_path, cdr_db, cel=True)
    write_wav(tmp_path / "monitor/2024/01/15" / f"{QUEUED}.wav", mtime=WRITTEN)
    cdr_db.insert_cdr(
        [row("2024-01-15 14:30:15", "1705347015.101", disposition="ANSWERED", billsec=300)]
    )
    cdr_db.insert_cel("CHAN_START", "2024-01-15 14:30:15", "1705347015.101", "1705347015.101")
    waiting = ingest(config, now=datetime(2024, 1, 15, 18, 30, tzinfo=NY).timestamp())
    (decision,) = waiting.decisions
    assert decision.action == Action.DEFER and "LINKEDID_END" in decision.reason
    cdr_db.insert_cel("LINKEDID_END", "2024-01-15 18:40:00", "1705347015.101", "1705347015.101")
    (call,) = ingest(config, now=NOW).calls
    assert call.call_id == "1705347015.101"


def test_cdr_times_in_utc(tmp_path, cdr_db):
    config = site(tmp_path, cdr_db, cdr_utc=True)
    write_wav(tmp_path / "monitor/2024/01/15" / f"{QUEUED}.wav", mtime=WRITTEN)
    cdr_db.insert_cdr(
        [row("2024-01-15 19:30:15", "1705347015.101", disposition="ANSWERED", billsec=300,
             recordingfile=f"{QUEUED}.wav")]
    )  # fmt: skip
    (call,) = ingest(config, now=NOW).calls
    assert call.billsec == 300


def test_a_wrong_password_is_an_error_without_the_password(tmp_path, cdr_db, mariadb):
    url = mariadb.url(cdr_db.name, password="wrong-one")
    config = Config(store=tmp_path, cdr_url=url, timezone="America/New_York")
    write_wav(tmp_path / f"{QUEUED}.wav", mtime=WRITTEN)
    with pytest.raises(CdrReadError, match="cannot connect to the CDR database") as caught:
        ingest(config, now=NOW)
    assert "wrong-one" not in str(caught.value)
    assert f"qa@127.0.0.1:{mariadb.port}/{cdr_db.name}" in str(caught.value)
