"""The nightly ingest: what is new since the last run is taken once, recent days are walked again,
and what is not finished waits. Stores are built in tmp_path in FreePBX's layout; ``now`` is the
time each nightly run happens, the files' mtimes are set to when the PBX wrote them."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pbx_store import (
    master_csv_row,
    queue_call_lines,
    set_mtime,
    write_format,
    write_in_progress,
    write_lines,
    write_wav,
)

from qa.config import Config
from qa.ingest import Action, IngestResult, ingest

NY = ZoneInfo("America/New_York")


def at(local: str) -> float:
    """Epoch seconds of a New York wall-clock time."""
    return datetime.fromisoformat(local).replace(tzinfo=NY).timestamp()


def site(tmp_path: Path, **settings) -> Config:
    return Config(
        store=tmp_path / "monitor",
        db=tmp_path / "qa.db",
        timezone="America/New_York",
        min_age_minutes=2,
        **settings,
    )


def recording(root: Path, local: str, uniqueid: str, kind: str = "q-600-5551234567", **kw) -> Path:
    """A FreePBX recording of a call that started at ``local`` (New York), filed by its day."""
    start = datetime.fromisoformat(local)
    name = f"{kind}-{start:%Y%m%d-%H%M%S}-{uniqueid}.{kw.pop('ext', 'wav')}"
    return root / f"{start:%Y/%m/%d}" / name


def decisions(result: IngestResult) -> dict[str, tuple[Action, str]]:
    return {Path(d.path).name: (d.action, d.reason) for d in result.decisions}


def test_each_call_is_taken_once_and_old_unchanged_days_are_not_walked(tmp_path):
    config = site(tmp_path)
    root = config.store
    done = at("2024-01-15 18:00:00")
    first = write_wav(recording(root, "2024-01-15 14:30:15", "1705347015.101"), mtime=done)
    outbound = recording(root, "2024-01-15 15:00:00", "1705348800.7", "out-5559990000-1001")
    write_wav(outbound, mtime=done)
    set_mtime(first.parent, done)  # a folder written seconds ago may still change unnoticed
    night1 = ingest(config, now=at("2024-01-16 00:30:00"))
    assert night1.new_call_ids == {"1705347015.101", "1705348800.7"}
    assert {d.action for d in night1.decisions} == {Action.TAKE}

    night2 = ingest(config, now=at("2024-01-17 00:30:00"))  # the folder is in the window
    assert night2.new_call_ids == set() and night2.decisions == []
    assert night2.known_files == 2
    assert [c.call_id for c in night2.calls] == ["1705347015.101", "1705348800.7"]

    night5 = ingest(config, now=at("2024-01-20 00:30:00"))  # older than the window: not walked
    assert night5.decisions == [] and night5.known_files == 2
    assert len(night5.calls) == 2  # the pipeline still sees them (already done, re-scoring)
    # Proof that it is not walked: a changed file there (the folder's mtime stays) goes unseen...
    with first.open("ab") as audio:
        audio.write(b"\0" * 800)
    set_mtime(first, done)
    assert ingest(config, now=at("2024-01-20 00:31:00")).decisions == []
    # ...until the window reaches back to it: then it is seen, and not taken a second time.
    wide = config.model_copy(update={"rescan_days": 10})
    (seen,) = ingest(wide, now=at("2024-01-20 00:32:00")).decisions
    assert (seen.action, seen.reason) == (Action.SKIP, "already taken as call 1705347015.101")

    # A recording filed late into the old folder changes the folder: it is walked and taken.
    late = write_wav(recording(root, "2024-01-15 16:00:00", "1705352400.9"), mtime=done)
    night6 = ingest(config, now=at("2024-01-21 00:30:00"))
    assert night6.new_call_ids == {"1705352400.9"}
    assert [d.path for d in night6.decisions] == [late.relative_to(root).as_posix()]


def test_dry_run_changes_nothing_and_shows_what_a_run_would_take(tmp_path):
    config = site(tmp_path)
    path = recording(config.store, "2024-01-15 14:30:15", "1705347015.101")
    write_wav(path, mtime=at("2024-01-15 15:00:00"))
    now = at("2024-01-16 00:30:00")
    preview = ingest(config, now=now, dry_run=True)
    assert not config.db.exists()  # not even created
    assert [d.action for d in preview.decisions] == [Action.TAKE]
    assert preview.new_call_ids == {"1705347015.101"}
    ingest(config, now=now)
    size = config.db.stat().st_size
    again = ingest(config, now=now + 60, dry_run=True)
    assert again.new_call_ids == set() and again.decisions == []
    assert [c.call_id for c in again.calls] == ["1705347015.101"]
    assert config.db.stat().st_size == size


@pytest.mark.parametrize("rescan_days", [0, 2])
def test_a_call_across_midnight_waits_and_is_taken_the_next_night(tmp_path, rescan_days):
    config = site(tmp_path, rescan_days=rescan_days)
    uniqueid = f"{at('2024-01-15 23:58:30'):.0f}.44"
    path = recording(config.store, "2024-01-15 23:58:30", uniqueid)  # filed under its start day
    write_in_progress(path, mtime=at("2024-01-16 00:01:50"))
    night1 = ingest(config, now=at("2024-01-16 00:02:00"))
    assert decisions(night1)[path.name][0] == Action.DEFER
    assert night1.new_call_ids == set()
    assert [s.status.value for s in night1.skipped] == ["deferred"]

    write_wav(path, seconds=2, mtime=at("2024-01-16 00:07:10"))  # the call ended after midnight
    night2 = ingest(config, now=at("2024-01-17 00:02:00"))
    assert night2.new_call_ids == {uniqueid}
    (call,) = night2.calls
    assert call.start == datetime(2024, 1, 16, 4, 58, 30, tzinfo=UTC)  # 23:58:30 EST
    assert ingest(config, now=at("2024-01-18 00:02:00")).new_call_ids == set()


def test_daylight_saving_repeated_hour_keeps_two_calls_apart(tmp_path):
    config = site(tmp_path, cdr_csv=tmp_path / "Master.csv")
    # 2024-11-03 01:30:00 happened twice in New York: at 05:30 UTC (EDT) and 06:30 UTC (EST).
    early, late = "1730611800.10", "1730615400.20"
    rows = []
    for uniqueid in (early, late):
        path = recording(config.store, "2024-11-03 01:30:00", uniqueid)
        write_wav(path, mtime=at("2024-11-03 03:00:00"))
        start = "2024-11-03 01:30:00"
        rows.append(
            master_csv_row(
                src="5551234567", dst="600", start=start, answer=start, end="2024-11-03 01:35:00",
                duration=300, billsec=290, uniqueid=uniqueid, userfield="",
            )
        )  # fmt: skip
    write_lines(config.cdr_csv, rows)
    result = ingest(config, now=at("2024-11-04 00:30:00"))
    starts = {call.call_id: call.start for call in result.calls}
    assert starts == {
        early: datetime(2024, 11, 3, 5, 30, tzinfo=UTC),
        late: datetime(2024, 11, 3, 6, 30, tzinfo=UTC),
    }
    assert {call.disposition for call in result.calls} == {"ANSWERED"}


def test_half_length_mp3_beside_the_full_wav_after_a_transfer(tmp_path):
    config = site(tmp_path)
    wav = recording(config.store, "2024-01-15 10:00:00", "1705330800.5")
    mp3 = wav.with_suffix(".mp3")
    # The post-processing script converted the first leg when the agent transferred the call;
    # MixMonitor is still writing the wav for the rest of the call.
    write_format(mp3, seconds=1.0, mtime=at("2024-01-15 10:05:00"))
    write_in_progress(wav, seconds=2.0, mtime=at("2024-01-15 10:09:59"))
    during = ingest(config, now=at("2024-01-15 10:10:00"))
    assert {name: action for name, (action, _) in decisions(during).items()} == {
        wav.name: Action.DEFER,
        mp3.name: Action.DEFER,
    }
    write_wav(wav, seconds=2.0, mtime=at("2024-01-15 10:12:00"))
    after = ingest(config, now=at("2024-01-16 00:30:00"))
    (call,) = after.calls
    assert call.recordings == (wav.relative_to(config.store).as_posix(),)
    action, reason = decisions(after)[mp3.name]
    assert action == Action.SKIP and "another format" in reason
    # Later the whole call is converted and the wav removed: still the same call, not a new one.
    wav.unlink()
    write_format(mp3, seconds=2.0, mtime=at("2024-01-16 03:00:00"))
    converted = ingest(config, now=at("2024-01-17 00:30:00"))
    assert converted.new_call_ids == set()
    assert decisions(converted)[mp3.name] == (Action.SKIP, "already taken as call 1705330800.5")


def test_a_recording_waits_for_its_cdr_row_then_is_taken_as_an_orphan(tmp_path):
    config = site(tmp_path, cdr_csv=tmp_path / "Master.csv", cdr_wait_minutes=60)
    write_lines(config.cdr_csv, [])  # the PBX has not written the call's row yet
    path = recording(
        config.store, "2024-01-15 14:30:15", "1705347015.101", "in-8005551212-5557654321"
    )
    write_wav(path, mtime=at("2024-01-15 14:40:00"))
    waiting = ingest(config, now=at("2024-01-15 14:50:00"))
    action, reason = decisions(waiting)[path.name]
    assert action == Action.DEFER and "no CDR row yet" in reason
    orphan = ingest(config, now=at("2024-01-15 15:45:00"))
    (call,) = orphan.calls
    assert (call.call_id, call.direction.value) == ("1705347015.101", "inbound")
    assert (call.caller, call.destination, call.disposition) == ("5557654321", "8005551212", None)


def test_a_file_that_grows_during_the_scan_waits(tmp_path):
    """The size is checked again after the (slow) sources are read: queue_log is a named pipe
    whose writer appends to the recording before it answers, as MixMonitor would meanwhile."""
    config = site(tmp_path, queue_log=tmp_path / "queue_log")
    now = at("2024-01-15 15:00:00")
    path = write_wav(recording(config.store, "2024-01-15 14:30:15", "1705347015.101"))
    set_mtime(path, now - 300)
    os.mkfifo(config.queue_log)

    def pbx() -> None:
        with config.queue_log.open("w") as pipe:  # blocks until ingest opens it
            with path.open("ab") as audio:
                audio.write(b"\1\2" * 4000)
            pipe.write("\n".join(queue_call_lines("1705347015.101")) + "\n")

    writer = threading.Thread(target=pbx)
    writer.start()
    result = ingest(config, now=now)
    writer.join(timeout=10)
    action, reason = decisions(result)[path.name]
    assert action == Action.DEFER and "grew from" in reason and "during the scan" in reason


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Run the block as user `nobody` when the tests run as root (root reads any file)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_an_unreadable_recording_fails_with_its_path_and_the_run_goes_on():
    base = Path(tempfile.mkdtemp(prefix="callqa-store-"))
    try:
        base.chmod(0o755)
        day = base / "2024" / "01" / "15"
        good = write_wav(day / "q-600-5551234567-20240115-143015-1705347015.101.wav")
        private = write_wav(day / "q-600-5552223333-20240115-150000-1705348800.7.wav")
        for folder in (base / "2024", base / "2024" / "01", day):
            folder.chmod(0o755)
        good.chmod(0o644)
        private.chmod(0o600 if os.geteuid() == 0 else 0o000)  # asterisk's recordings, mode 0600
        config = Config(store=base, timezone="America/New_York")
        ingest(config)  # imports done while every file is readable
        with as_nobody():
            result = ingest(config)
        assert [call.call_id for call in result.calls] == ["1705347015.101"]
        action, reason = decisions(result)[private.name]
        assert action == Action.FAIL
        assert str(private) in reason and "asterisk group" in reason
    finally:
        shutil.rmtree(base, ignore_errors=True)
