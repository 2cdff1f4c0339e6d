"""What a recording's file name says, in the three ways Asterisk and FreePBX name recordings.

- FreePBX: ``<type>-<dest>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>[-<leg>].<ext>``. The uniqueid may
  itself contain ``-`` (``<systemname>-<epoch>.<seq>``), so the name is parsed from the right,
  anchored on the last ``-YYYYMMDD-HHMMSS-``.
- Plain Asterisk queues (``monitor-type`` MixMonitor or Monitor, no ``MONITOR_FILENAME``): the
  caller channel's uniqueid, ``<uniqueid>.<ext>``, or ``<uniqueid>-in``/``-out`` for Monitor legs.
- One-touch recording (``automon``/``automixmon`` features): ``auto-<epoch>-<caller>-<callee>``
  (``/`` in channel names becomes ``-``), or ``auto-<epoch>-<TOUCH_MONITOR>``. No uniqueid: the
  call is identified by its content (see :mod:`qa.ingest.ledger`).

::

    name = parse_recording_name("q-600-5551234567-20240115-143015-1705347015.101.wav")
    name.uniqueid, name.direction, name.epoch   # '1705347015.101', Direction.INBOUND, 1705347015
    parse_recording_name("1705347015.101-in.wav").leg                         # 'in'
    parse_recording_name("auto-1705347015-1001-5551234567.wav").source        # '1001'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from calldata import Direction

__all__ = [
    "AUDIO_EXTENSIONS",
    "LEG_ORDER",
    "NameLayout",
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

_FREEPBX = re.compile(r"^(?P<head>.*)-(?P<date>\d{8})-(?P<time>\d{6})-(?P<tail>.+)$")
_LEG = re.compile(r"^(?P<rest>.+?)-(?P<leg>r|t|in|out)$")
_UNIQUEID = re.compile(r"(?:[\w.-]*[\w.]-)?\d{9,11}\.\d+")
_EPOCH = re.compile(r"(?:^|-)(?P<epoch>\d{9,11})\.\d+$")
_AUTO = re.compile(r"^auto-(?P<epoch>\d{9,11})(?:-(?P<parties>.+))?$")
_NUMBER = re.compile(r"^\+?\d+$")
# Channel technologies whose "Tech/" the auto- name turned into "Tech-".
_TECH = re.compile(r"^(PJSIP|SIP|IAX2|Local|DAHDI|Agent|Console|Motif|UnicastRTP)-", re.IGNORECASE)


class RecordingNameError(ValueError):
    """A file name that is not a recording name Asterisk or FreePBX writes."""


class NameLayout(StrEnum):
    FREEPBX = "freepbx"  # <type>-<dest>-<from>-YYYYMMDD-HHMMSS-<uniqueid>
    UNIQUEID = "uniqueid"  # <uniqueid> (plain Asterisk queue recordings)
    AUTO = "auto"  # auto-<epoch>-<caller>-<callee> (one-touch recording)


@dataclass(frozen=True)
class RecordingName:
    """What a recording's file name says.

    ``local_time`` is the PBX's wall clock (naive), only in FreePBX names. ``uniqueid`` is None
    for ``auto-`` names, whose ``epoch`` comes from the name itself.
    """

    filename: str
    kind: str  # the FreePBX type (in, out, q, ...), "auto", or "" for a bare uniqueid
    destination: str | None
    source: str | None
    local_time: datetime | None
    uniqueid: str | None
    leg: str | None  # r, t, in, out (a file of a two-file recording), None for one file
    extension: str
    stem: str  # the name without the leg suffix and the extension: shared by both legs
    layout: NameLayout = NameLayout.FREEPBX
    name_epoch: int | None = None  # auto- names: when the recording started

    @property
    def direction(self) -> Direction:
        return _TYPE_DIRECTIONS.get(self.kind.lower(), Direction.UNKNOWN)

    @property
    def epoch(self) -> int | None:
        """The call's canonical start in epoch seconds: the uniqueid's (it survives the repeated
        hour when daylight saving ends), or for ``auto-`` names the one in the name."""
        if self.uniqueid is not None:
            match = _EPOCH.search(self.uniqueid)
            return int(match["epoch"]) if match else None
        return self.name_epoch

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


def _split_leg(text: str) -> tuple[str, str | None]:
    match = _LEG.match(text)
    return (match["rest"], match["leg"]) if match else (text, None)


def _split_parties(parties: str | None) -> tuple[str | None, str | None]:
    """``<caller>-<callee>`` of an auto- name; each is a number or a channel name with ``/``
    turned into ``-``, so only a number on one side makes the split certain."""
    if not parties:
        return None, None
    pieces = parties.split("-")
    if len(pieces) == 2:
        caller, callee = pieces
    elif _NUMBER.match(pieces[0]):
        caller, callee = pieces[0], "-".join(pieces[1:])
    elif _NUMBER.match(pieces[-1]):
        caller, callee = "-".join(pieces[:-1]), pieces[-1]
    else:
        return None, None
    return _TECH.sub(r"\1/", caller), _TECH.sub(r"\1/", callee)


def _freepbx(filename: str, stem: str, extension: str) -> RecordingName | None:
    match = _FREEPBX.match(stem)
    if match is None:
        return None
    day, clock = match["date"], match["time"]
    try:  # by hand: strptime costs more than the rest of the parse
        local_time = datetime(
            int(day[:4]),
            int(day[4:6]),
            int(day[6:]),
            int(clock[:2]),
            int(clock[2:4]),
            int(clock[4:]),
        )
    except ValueError:
        raise RecordingNameError(f"{filename}: the date/time in the name is not valid") from None
    uniqueid, leg = _split_leg(match["tail"])
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
        stem=stem if leg is None else stem[: -len(leg) - 1],
    )


def _auto(filename: str, stem: str, extension: str) -> RecordingName | None:
    base, leg = _split_leg(stem)
    auto = _AUTO.match(base)
    if auto is not None:
        source, destination = _split_parties(auto["parties"])
        return RecordingName(
            filename=filename,
            kind="auto",
            destination=destination,
            source=source,
            local_time=None,
            uniqueid=None,
            leg=leg,
            extension=extension,
            stem=base,
            layout=NameLayout.AUTO,
            name_epoch=int(auto["epoch"]),
        )
    return None


def _uniqueid(filename: str, stem: str, extension: str) -> RecordingName | None:
    base, leg = _split_leg(stem)
    if _UNIQUEID.fullmatch(base):
        return RecordingName(
            filename=filename,
            kind="",
            destination=None,
            source=None,
            local_time=None,
            uniqueid=base,
            leg=leg,
            extension=extension,
            stem=base,
            layout=NameLayout.UNIQUEID,
        )
    return None


def parse_recording_name(filename: str) -> RecordingName:
    """Parse a recording's file name (a base name, not a path): FreePBX, uniqueid or auto-.

    Raises :class:`RecordingNameError` when the name has none of these shapes.
    """
    stem, dot, extension = filename.rpartition(".")
    if not dot or extension.lower() not in AUDIO_EXTENSIONS:
        raise RecordingNameError(f"{filename}: not an audio file extension")
    for parse in (_auto, _freepbx, _uniqueid):
        name = parse(filename, stem, extension)
        if name is not None:
            return name
    raise RecordingNameError(
        f"{filename}: not a recording name Asterisk writes (FreePBX "
        "<type>-<dest>-<from>-YYYYMMDD-HHMMSS-<uniqueid>, a bare <uniqueid>, or "
        "auto-<epoch>-...): rename it, or leave it out of the store"
    )
