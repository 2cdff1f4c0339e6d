"""A recording judged by its audio against the CDR: is it the whole call?

The CDR says how long the call was answered (``billsec``); a WAV header says how much audio it
holds. A recording much shorter than either was cut short (a copy that stopped, a disk that
filled): its scores would judge the agent on a fragment, so the call is marked *truncated*, kept
out of agent records until a reviewer has looked at it (:mod:`qa.records.agents`), and named in
the run report. A header that claims far more audio than the call could hold (hours for a call
of seconds) is a corrupt header: the call is failed with the file and the fix::

    check = check_length(call, audio_seconds=1.9, claimed_seconds=35.0)
    check.verdict, check.reason        # "truncated", "... 1.9 s of audio ... billsec 35 s ..."
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlite_utils

from calldata import Call
from qa.ingest.paths import shown

__all__ = [
    "LengthCheck",
    "check_header",
    "check_length",
    "claimed_seconds_of",
    "mark_truncated",
    "wav_claimed_seconds",
]

_HEADER_READ = 4096
# Slack before a recording counts as cut short: the answer and the hang-up are not exactly where
# MixMonitor starts and stops (a queue recording starts before the answer and is longer).
_SHORT_SLACK_SECONDS = 3.0
_SHORT_SLACK_SHARE = 0.1
# A header claiming this much more than the call lasted is not a longer recording: it lies.
_ABSURD_FACTOR = 4.0
_ABSURD_SLACK_SECONDS = 600.0

Verdict = Literal["ok", "truncated", "failed"]


@dataclass(frozen=True)
class LengthCheck:
    verdict: Verdict
    reason: str = ""


def wav_claimed_seconds(path: Path) -> float | None:
    """The audio length a WAV header claims (data size over byte rate); None when the file is
    not a WAV or the header says nothing usable."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_READ)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        size = struct.unpack_from("<I", head, offset + 4)[0]
        if chunk_id == b"fmt " and offset + 16 <= len(head):
            byte_rate = struct.unpack_from("<I", head, offset + 16)[0]
        if chunk_id == b"data":
            return size / byte_rate if byte_rate and size else None
        offset += 8 + size + (size & 1)
    return None


def _seconds(value: float) -> str:
    if value >= 5400:
        return f"{value / 3600:.1f} h"
    return f"{value:.1f} s"


def _name(call: Call) -> str:
    return shown(call.recordings[0]) if call.recordings else call.call_id


def check_header(call: Call, claimed_seconds: float | None) -> LengthCheck:
    """Judge the header's claim against the CDR, before any decoding."""
    lasted = call.duration or call.billsec
    absurd = lasted and _ABSURD_FACTOR * lasted + _ABSURD_SLACK_SECONDS
    if claimed_seconds is not None and absurd and claimed_seconds > absurd:
        return LengthCheck(
            "failed",
            f"{_name(call)}: its WAV header claims {_seconds(claimed_seconds)} of audio for "
            f"a call the CDR says lasted {_seconds(lasted or 0)}: the header is corrupt; repair "
            "it (sox --ignore-length in.wav out.wav) and run again with --retry-failed",
        )
    return LengthCheck("ok")


def check_length(call: Call, audio_seconds: float, claimed_seconds: float | None) -> LengthCheck:
    """Judge the decoded length (and the header's claim) against the CDR."""
    header = check_header(call, claimed_seconds)
    if header.verdict != "ok":
        return header
    name, lasted = _name(call), call.duration or call.billsec
    billsec = call.billsec or 0.0
    slack = max(_SHORT_SLACK_SECONDS, _SHORT_SLACK_SHARE * billsec)
    if billsec > slack and audio_seconds < billsec - slack:
        return LengthCheck(
            "truncated",
            f"{name}: {_seconds(audio_seconds)} of audio for a call answered for "
            f"{_seconds(billsec)} (CDR billsec): the recording was cut short; its scores count "
            "for the agent only once a reviewer has checked the call",
        )
    if claimed_seconds is not None and not lasted:
        slack = max(_SHORT_SLACK_SECONDS, _SHORT_SLACK_SHARE * claimed_seconds)
        if audio_seconds < claimed_seconds - slack:
            return LengthCheck(
                "truncated",
                f"{name}: {_seconds(audio_seconds)} of audio where its header says "
                f"{_seconds(claimed_seconds)}: the file was cut short; its scores count for the "
                "agent only once a reviewer has checked the call",
            )
    return LengthCheck("ok")


def claimed_seconds_of(store: Path, call: Call) -> float | None:
    """The header claim of a call's (first) recording file."""
    if not call.recordings:
        return None
    return wav_claimed_seconds(Path(os.path.join(store, call.recordings[0])))


def mark_truncated(db: sqlite_utils.Database, call_id: str, reason: str | None) -> None:
    """Set (or clear, with None) the call's truncated mark, *not committed*: the call's own save
    commits it with its results."""
    db.conn.execute("update calls set truncated = ? where call_id = ?", [reason, call_id])
