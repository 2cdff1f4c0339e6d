"""A FreePBX site holding every bad file a night meets, beside good calls in every Asterisk
format, for the fault-injection tests (tests/ingest/test_ingest_faults.py without the models,
tests/run/test_faults.py with the real pipeline).

Each call has its Master.csv row and queue_log lines; the recordings are made with sox
(``pbx_store.write_with_sox``). ``build_fault_site`` returns what each file must become."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from pbx_store import (
    OLD,
    RATE,
    master_csv_row,
    queue_call_lines,
    set_mtime,
    speak,
    write_header_only,
    write_lines,
    write_with_sox,
)

ZONE = ZoneInfo("America/New_York")
FIRST_EPOCH = 1795184105  # 2026-11-20 09:15:05 in New York
AGENT = "Bob Jones"
GOOD_FORMATS = ("wav", "wav16", "WAV", "wav49", "gsm", "ulaw", "alaw", "sln", "mp3")
RUBRIC = """\
id: fault-service
version: "1"
title: Greets and closes
pass_mark: 100
items:
  - id: greeting
    title: Thanks the caller for calling
    weight: 1
    check:
      phrase: {role: agent, phrases: {en: ["thank you for calling"]}}
  - id: closing
    title: Says goodbye
    weight: 1
    check:
      phrase: {role: agent, phrases: {en: ["goodbye"]}}
"""


@dataclass(frozen=True)
class Planted:
    """One file put in the store: its path (relative, as os lists it), call uniqueid, what
    ingest decides, what the run makes of it, and a phrase its reason must hold."""

    path: str
    uniqueid: str
    ingest: str  # take | skip | fail
    run: str  # done | truncated | failed | skipped
    reason: str = ""


@dataclass
class FaultSite:
    root: Path
    config: Path
    planted: list[Planted] = field(default_factory=list)
    source_problems: dict[str, str] = field(default_factory=dict)  # source file → phrase

    @property
    def store(self) -> Path:
        return self.root / "monitor"

    def by_run(self, *outcomes: str) -> list[Planted]:
        return [p for p in self.planted if p.run in outcomes]


class _Calls:
    """Hands out call identities one after another, ten minutes apart, with their CDR rows."""

    def __init__(self) -> None:
        self.count = 0
        self.cdr: list[str] = []
        self.queue: list[str] = []

    def next(
        self, ext: str, *, billsec: int, disposition: str = "ANSWERED", caller: str | None = None
    ) -> tuple[str, str]:
        """(file name, uniqueid) of the next call; its CDR row and queue_log lines recorded."""
        self.count += 1
        epoch = FIRST_EPOCH + 600 * self.count
        uniqueid = f"{epoch}.{self.count}"
        local = datetime.fromtimestamp(epoch, ZONE).replace(tzinfo=None)
        src = f"55500{self.count:05d}"
        name = f"q-600-{caller or src}-{local:%Y%m%d}-{local:%H%M%S}-{uniqueid}.{ext}"
        answered = disposition == "ANSWERED"
        answer = local + timedelta(seconds=5)
        self.cdr.append(
            master_csv_row(
                src=src,
                dst="600",
                start=f"{local:%Y-%m-%d %H:%M:%S}",
                answer=f"{answer:%Y-%m-%d %H:%M:%S}" if answered else None,
                end=f"{answer + timedelta(seconds=billsec):%Y-%m-%d %H:%M:%S}",
                duration=billsec + 5,
                billsec=billsec,
                disposition=disposition,
                uniqueid=uniqueid,
                userfield="",
            )
        )
        if answered:
            self.queue += queue_call_lines(uniqueid, caller=src, agent=AGENT, hold=5, talk=billsec)
        return name, uniqueid


def _garbage(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(size)


def build_fault_site(root: Path) -> FaultSite:
    """Write the site under ``root``: monitor/, Master.csv, queue_log, rubrics/, site.toml."""
    day = root / "monitor" / "2026" / "11" / "20"
    day.mkdir(parents=True)
    site = FaultSite(root, root / "site.toml")
    calls = _Calls()
    speech = speak("Thank you for calling Acme. Goodbye.")
    seconds = int(len(speech) / RATE)  # the call's billsec: the recording holds a bit more

    def plant(name: str, uid: str, ingest: str, run: str, reason: str = "") -> None:
        site.planted.append(Planted(f"2026/11/20/{name}", uid, ingest, run, reason))

    for ext in GOOD_FORMATS:
        name, uid = calls.next(ext, billsec=seconds)
        rate = 16000 if ext == "wav16" else RATE
        samples = speech if rate == RATE else speak("Thank you for calling Acme. Goodbye.", rate)
        write_with_sox(day / name, samples, rate)
        plant(name, uid, "take", "done")

    # A caller number holding a byte that is not UTF-8: a good call all the same.
    name, uid = calls.next("wav", billsec=seconds, caller=os.fsdecode(b"555\xff1234"))
    write_with_sox(day / name, speech)
    plant(name, uid, "take", "done", "555\\xff1234")

    # What follows RIFF....WAVE is garbage, for a call the CDR says was answered for 47 s.
    name, uid = calls.next("wav", billsec=47)
    body = _garbage(30000, 1)
    (day / name).write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body)
    set_mtime(day / name, OLD)
    plant(name, uid, "fail", "failed", "not WAV chunks")

    # Header only, but the CDR says ANSWERED: the audio was lost, not a call never answered.
    name, uid = calls.next("wav", billsec=47)
    write_header_only(day / name)
    plant(name, uid, "fail", "failed", "ANSWERED for 47 s")

    # Header only and NO ANSWER: the ordinary trace of a call never answered.
    name, uid = calls.next("wav", billsec=0, disposition="NO ANSWER")
    write_header_only(day / name)
    plant(name, uid, "skip", "skipped", "never answered")

    # A copy cut short: 1 s of a call answered for 35 s.
    name, uid = calls.next("wav", billsec=35)
    write_with_sox(day / name, speech[:RATE])
    plant(name, uid, "take", "truncated", "cut short")

    # A header that claims ~37 hours for a call of 35 s.
    name, uid = calls.next("wav", billsec=35)
    write_with_sox(day / name, speech)
    data = bytearray((day / name).read_bytes())
    claimed = 37 * 3600 * RATE * 2
    data[4:8] = struct.pack("<I", claimed + 36)
    data[40:44] = struct.pack("<I", claimed)
    (day / name).write_bytes(bytes(data))
    set_mtime(day / name, OLD)
    plant(name, uid, "take", "failed", "header claims 37.0 h")

    # An mp3 of random bytes.
    name, uid = calls.next("mp3", billsec=20)
    (day / name).write_bytes(_garbage(8000, 2))
    set_mtime(day / name, OLD)
    plant(name, uid, "take", "failed", "corrupt or not audio")

    # Not a recording name at all, and not UTF-8 either.
    stray = os.fsdecode(b"caf\xe9 notes.wav")
    write_with_sox(day / stray, speech)
    site.planted.append(Planted(f"2026/11/20/{stray}", "", "skip", "skipped", "caf\\xe9 notes"))

    # A copy made by hand of a good call's recording, beside it.
    original = site.planted[0]
    copy_name = original.path.rsplit("/", 1)[1].replace(".wav", " copy.wav")
    (day / copy_name).write_bytes((root / "monitor" / original.path).read_bytes())
    set_mtime(day / copy_name, OLD)
    plant(copy_name, original.uniqueid, "skip", "skipped", "a copy made by hand")

    # A good call's recording kept outside the store, linked into it: refused, naming both.
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    name, uid = calls.next("wav", billsec=seconds)
    write_with_sox(elsewhere / name, speech)
    (day / name).symlink_to(elsewhere / name)
    plant(name, uid, "fail", "failed", f"link to {elsewhere / name}, outside the store")

    # A day folder link that leads back up the tree.
    (day / "loop").symlink_to("..")
    site.source_problems["2026/11/20/loop"] = "symlink loop"

    cdr = [*calls.cdr, '"garbage","row"\n', '"half a row",' + "\0" * 4 + '"cut\n']
    write_lines(root / "Master.csv", cdr)
    site.source_problems[str(root / "Master.csv")] = "left out as corrupt"
    write_lines(root / "queue_log", [*calls.queue, "this is not a queue_log line"])
    site.source_problems[str(root / "queue_log")] = "left out as corrupt"

    rubrics = root / "rubrics"
    rubrics.mkdir()
    (rubrics / "fault-service.yaml").write_text(RUBRIC)
    site.config.write_text(
        """
store = "monitor"
cdr_csv = "Master.csv"
queue_log = "queue_log"
rubrics = "rubrics"
timezone = "America/New_York"
languages = ["en"]
min_age_minutes = 0
[queue_languages]
"600" = "en"
[[agents]]
id = "1002"
name = "Bob Jones"
identities = ["1002", "PJSIP/1002", "Bob Jones"]
"""
    )
    return site
