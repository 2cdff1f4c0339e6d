"""Ingest at scale: a generated FreePBX store of 100,000 recordings with matching Master.csv and
queue_log, scanned once from scratch and then again with nothing changed.

::

    .venv/bin/python benchmarks/ingest_bench.py                  # 100,000 recordings
    .venv/bin/python benchmarks/ingest_bench.py --recordings 20000 --keep /tmp/store

The store is ``--days`` day folders (``monitor/YYYY/MM/DD``) ending the day before "now". Of the
recordings 70% are queue calls (with queue_log lines), 20% outbound calls, 10% unanswered
(44-byte header-only WAVs); the answered ones are tiny real WAVs (20 ms), since ingest reads
no further than the header. Every call has its Master.csv row (uniqueid and userfield columns).

It prints, each timed with the results database (the ingest ledger) on the same disk:

- first scan: every file examined, CDR and queue_log read, every call recorded in the ledger;
- re-scan, nothing changed, the nightly way: the last ``rescan_days`` (2) day folders walked,
  the older ones left unwalked because their mtime is what the ledger recorded;
- re-scan, nothing changed, every folder walked (``rescan_days`` covering the whole store): each
  file stat'ed and found unchanged in the ledger, none opened.

Targets: first scan under 60 s, re-scan under 10 s. Wall and CPU time are both printed: on a
shared machine the wall time says more about the neighbours than about ingest.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import struct
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.config import AgentEntry, Config  # noqa: E402
from qa.ingest import ingest  # noqa: E402

ZONE = ZoneInfo("America/New_York")


def wav_bytes(data_bytes: int) -> bytes:
    """An 8 kHz 16-bit mono WAV with ``data_bytes`` of silence (0: header only)."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )
    return header + b"\0" * data_bytes


def generate(base: Path, recordings: int, days: int, last_day: datetime) -> Config:
    """Write the store, Master.csv and queue_log; return the site's config."""
    store = base / "monitor"
    answered, unanswered = wav_bytes(320), wav_bytes(0)
    per_day = -(-recordings // days)
    csv_rows: list[str] = []
    queue_lines: list[str] = []
    written = 0
    for day_index in range(days):
        day = last_day - timedelta(days=days - 1 - day_index)
        folder = store / f"{day:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        start_of_day = day.replace(hour=8, minute=0, second=0).timestamp()
        for n in range(min(per_day, recordings - written)):
            written += 1
            epoch = int(start_of_day + n * (36000 / per_day))
            uniqueid = f"{epoch}.{written}"
            local = datetime.fromtimestamp(epoch, ZONE)
            caller = f"555{written % 10_000_000:07d}"
            kind = n % 10
            if kind < 7:
                name, dst, ctx = f"q-600-{caller}", "600", "ext-queues"
                agent = ("Alice Smith", "Bob Jones", "Wang Fang")[n % 3]
                queue_lines += [
                    f"{epoch}|{uniqueid}|600|NONE|ENTERQUEUE||{caller}|1",
                    f"{epoch + 12}|{uniqueid}|600|{agent}|CONNECT|12|{epoch + 8}.{written}9|4",
                    f"{epoch + 190}|{uniqueid}|600|{agent}|COMPLETECALLER|12|178|1",
                ]
            elif kind < 9:
                name, dst, ctx = f"out-{caller}-100{n % 3 + 1}", caller, "from-internal"
            else:
                name, dst, ctx = f"in-8005551212-{caller}", "8005551212", "from-did-direct"
            stamp = f"{local:%Y%m%d-%H%M%S}"
            path = folder / f"{name}-{stamp}-{uniqueid}.wav"
            path.write_bytes(unanswered if kind == 9 else answered)
            os.utime(path, (epoch + 200, epoch + 200))
            begin = f"{local:%Y-%m-%d %H:%M:%S}"
            end = f"{local + timedelta(seconds=190):%Y-%m-%d %H:%M:%S}"
            disposition, billsec = ("NO ANSWER", 0) if kind == 9 else ("ANSWERED", 178)
            answer = "" if kind == 9 else f'"{begin}"'
            csv_rows.append(
                f'"","{caller}","{dst}","{ctx}","""Caller"" <{caller}>","PJSIP/trunk1-0000{n:04x}",'
                f'"PJSIP/1001-0000{n:04x}","Queue","{dst}","{begin}",{answer},"{end}",190,'
                f'{billsec},"{disposition}","DOCUMENTATION","{uniqueid}",""\n'
            )
    (base / "Master.csv").write_text("".join(csv_rows))
    (base / "queue_log").write_text("\n".join(queue_lines) + "\n")
    return Config(
        store=store,
        cdr_csv=base / "Master.csv",
        queue_log=base / "queue_log",
        db=base / "qa.db",
        timezone="America/New_York",
        min_age_minutes=2,
        rescan_days=2,
        agents=tuple(
            AgentEntry(id=ext, name=name, identities=(ext, f"PJSIP/{ext}", name))
            for ext, name in (("1001", "Alice Smith"), ("1002", "Bob Jones"), ("1003", "Wang Fang"))
        ),
    )


def timed(config: Config, now: float) -> tuple[float, float, int, int, int]:
    """Wall and CPU seconds of one ingest, files examined, calls taken, calls known."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = ingest(config, now=now)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, len(result.decisions), len(result.new_call_ids), len(result.calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="Build the store here and keep it.")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="callqa-ingest-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    today = datetime(2026, 11, 23, 1, 30, tzinfo=ZONE)
    try:
        started = time.perf_counter()
        config = generate(base, args.recordings, args.days, today - timedelta(days=1))
        print(
            f"generated {args.recordings} recordings in {args.days} day folders "
            f"({time.perf_counter() - started:.1f} s) under {base}"
        )
        print(
            f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        now = today.timestamp()
        wall, cpu, examined, new, calls = timed(config, now)
        print(
            f"first scan:               {wall:6.2f} s wall, {cpu:6.2f} s CPU  ({examined} files "
            f"examined, {new} calls taken)"
        )
        wall, cpu, examined, new, calls = timed(config, now + 3600)
        print(
            f"re-scan, nightly window:  {wall:6.2f} s wall, {cpu:6.2f} s CPU  ({examined} "
            f"examined, {new} new, {calls} calls known)"
        )
        wide = config.model_copy(update={"rescan_days": args.days + 1})
        wall, cpu, examined, new, calls = timed(wide, now + 7200)
        print(
            f"re-scan, every folder:    {wall:6.2f} s wall, {cpu:6.2f} s CPU  ({examined} "
            f"examined, {new} new)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
