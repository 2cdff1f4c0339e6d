"""FreePBX recording names: ``<type>-<dest>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>[-<leg>].<ext>``.

The uniqueid may itself contain ``-`` (``<systemname>-<epoch>.<seq>``), so the name is parsed
from the right, anchored on the last ``-YYYYMMDD-HHMMSS-``::

    name = parse_recording_name("q-600-5551234567-20240115-143015-1705347015.101.wav")
    name.uniqueid, name.direction, name.epoch   # '1705347015.101', Direction.INBOUND, 1705347015
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calldata import Direction

__all__ = [
    "AUDIO_EXTENSIONS",
    "LEG_ORDER",
    "RecordingName",
    "RecordingNameError",
    "is_audio_name",
    "parse_recording_name",
]

# What Asterisk's format modules write, plus what sites convert to afterwards.
AUDIO_EXTENSIONS = frozenset(
    {
        "wav", "wav16", "wav49", "gsm", "ulaw", "ul", "mu", "alaw", "al", "sln", "sln16", "raw",
        "g722", "g729", "mp3", "ogg", "opus", "flac", "m4a",
    }
)  # fmt: skip

# FreePBX recording types → direction. `external` and `exten` are calls *to* an extension:
# FreePBX names them `external` when the caller came from outside the PBX.
_TYPE_DIRECTIONS = {
    "in": Direction.INBOUND,
    "q": Direction.INBOUND,
    "rg": Direction.INBOUND,
    "external": Direction.INBOUND,
    "out": Direction.OUTBOUND,
    "internal": Direction.INTERNAL,
    "exten": Direction.INTERNAL,
}

# Two-file recordings: MixMonitor r()/t() and legacy Monitor() -in/-out. The first of each pair is
# what the recorded channel received (the far party), channel 0 of the call.
LEG_ORDER = {"r": 0, "t": 1, "in": 0, "out": 1}

_NAME = re.compile(r"^(?P<head>.*)-(?P<date>\d{8})-(?P<time>\d{6})-(?P<tail>.+)$")
_LEG = re.compile(r"^(?P<uid>.+?)-(?P<leg>r|t|in|out)$")
_EPOCH = re.compile(r"(?:^|-)(?P<epoch>\d{9,11})\.\d+$")


class RecordingNameError(ValueError):
    """A file name that is not a FreePBX recording name."""


@dataclass(frozen=True)
class RecordingName:
    """What a recording's file name says. ``local_time`` is the PBX's wall clock (naive)."""

    filename: str
    kind: str  # the FreePBX type: in, out, q, rg, internal, external, ondemand, ...
    destination: str | None
    source: str | None
    local_time: datetime
    uniqueid: str
    leg: str | None  # r, t, in, out (a file of a two-file recording), None for one file
    extension: str

    @property
    def direction(self) -> Direction:
        return _TYPE_DIRECTIONS.get(self.kind.lower(), Direction.UNKNOWN)

    @property
    def stem(self) -> str:
        """The name without the leg suffix and the extension: shared by both legs."""
        return self.filename[: self.filename.rindex("-" + self.uniqueid) + len(self.uniqueid) + 1]

    @property
    def epoch(self) -> int | None:
        """The uniqueid's epoch seconds (the call's canonical start), if it has the usual form."""
        match = _EPOCH.search(self.uniqueid)
        return int(match["epoch"]) if match else None

    @property
    def channel(self) -> int | None:
        """For a leg, its channel in the call (0 = received, 1 = transmitted)."""
        return None if self.leg is None else LEG_ORDER[self.leg]


def is_audio_name(filename: str) -> bool:
    """Whether the file's extension is one a call recording may have."""
    _, dot, extension = filename.rpartition(".")
    return bool(dot) and extension.lower() in AUDIO_EXTENSIONS


def _split_head(head: str) -> tuple[str, str | None, str | None]:
    kind, _, rest = head.partition("-")
    if not rest:
        return kind, None, None
    destination, dash, source = rest.rpartition("-")
    if not dash:
        return kind, rest or None, None
    return kind, destination or None, source or None


def parse_recording_name(filename: str) -> RecordingName:
    """Parse a FreePBX recording file name (a base name, not a path).

    Raises :class:`RecordingNameError` when the name does not have the FreePBX shape.
    """
    stem, dot, extension = filename.rpartition(".")
    if not dot or extension.lower() not in AUDIO_EXTENSIONS:
        raise RecordingNameError(f"{filename}: not an audio file extension")
    match = _NAME.match(stem)
    if match is None:
        raise RecordingNameError(
            f"{filename}: not a FreePBX recording name (<type>-<dest>-<from>-YYYYMMDD-HHMMSS-"
            "<uniqueid>.<ext>)"
        )
    try:
        local_time = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        raise RecordingNameError(f"{filename}: the date/time in the name is not valid") from None
    uniqueid, leg = match["tail"], None
    leg_match = _LEG.match(uniqueid)
    if leg_match is not None:
        uniqueid, leg = leg_match["uid"], leg_match["leg"]
    kind, destination, source = _split_head(match["head"])
    if not kind:
        raise RecordingNameError(f"{filename}: the recording type is empty")
    return RecordingName(
        filename=filename,
        kind=kind,
        destination=destination,
        source=source,
        local_time=local_time,
        uniqueid=uniqueid,
        leg=leg,
        extension=extension,
    )
