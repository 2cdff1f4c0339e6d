"""Asterisk's queue_log: which queue a call went through, which agent took it, who hung up.

Lines are ``epoch|callid|queuename|agent|event|data1|data2|...``; ``callid`` is the caller
channel's uniqueid, which is also the uniqueid in a FreePBX ``q-`` recording's name. Rotated
files next to the live one (``queue_log.1``, ``queue_log.2.gz``, ``queue_log-20240115.gz``) are
read too, oldest first::

    log = read_queue_log(Path("/var/log/asterisk/queue_log"))
    call = log.find("1705347015.101")
    call.queue, call.agent, call.hangup_by   # '600', 'Bob Jones', HangupBy.CUSTOMER
    call.hold_seconds, call.talk_seconds     # 19.0, 300.0
"""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from calldata import HangupBy

__all__ = [
    "QueueCall",
    "QueueLog",
    "QueueLogReadError",
    "parse_queue_log_lines",
    "queue_log_files",
    "read_queue_log",
]

log = logging.getLogger(__name__)

_ROTATED = re.compile(r"^\.(?P<n>\d+)(?:\.gz)?$|^-(?P<date>\d{8})(?:\.gz)?$")
_TRANSFERS = frozenset({"BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"})


class QueueLogReadError(OSError):
    """A queue_log file could not be read."""


@dataclass(frozen=True)
class QueueCall:
    """What queue_log says about one caller's passage through a queue.

    ``outcome`` is the event that ended it: COMPLETEAGENT (the agent hung up first),
    COMPLETECALLER, ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY, or a transfer event
    (BLINDTRANSFER, ATTENDEDTRANSFER; TRANSFER before Asterisk 12).
    """

    callid: str
    queue: str | None = None
    agent: str | None = None  # the agent field of CONNECT: on FreePBX, the member name
    member_uniqueid: str | None = None  # the answering member channel's uniqueid
    enter_time: int | None = None
    connect_time: int | None = None
    hold_seconds: float | None = None
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    hangup_by: HangupBy = HangupBy.UNKNOWN
    abandoned: bool = False
    transferred: bool = False
    transfer_target: str | None = None  # the extension (blind) or how (attended: BRIDGE, APP...)
    outcome: str | None = None
    did: str | None = None
    caller: str | None = None


_ENDS = frozenset(
    {"COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"}
)
_UNANSWERED_EXITS = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"})


def queue_log_files(path: Path) -> list[Path]:
    """``path`` and its rotated siblings, oldest first (``.2.gz`` before ``.1`` before live)."""
    numbered: list[tuple[int, Path]] = []
    dated: list[tuple[str, Path]] = []
    if path.parent.is_dir():
        for sibling in path.parent.iterdir():
            if not sibling.name.startswith(path.name) or sibling == path:
                continue
            match = _ROTATED.match(sibling.name[len(path.name) :])
            if match is None:
                continue
            if match["n"] is not None:
                numbered.append((int(match["n"]), sibling))
            else:
                dated.append((match["date"], sibling))
    files = [p for _, p in sorted(dated)] + [p for _, p in sorted(numbered, reverse=True)]
    if path.exists():
        files.append(path)
    return files


def _lines(path: Path) -> list[str]:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
                return handle.read().splitlines()
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise QueueLogReadError(
            f"{path}: cannot read queue_log ({reason}); check the path and that this user may "
            "read it"
        ) from None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class _Passage:
    """A queue call being assembled from its events (mutable: half a million lines a night)."""

    __slots__ = tuple(QueueCall.__dataclass_fields__)
    # QueueCall's fields, for the type checker (set from its defaults in __init__)
    callid: str
    queue: str | None
    agent: str | None
    member_uniqueid: str | None
    enter_time: int | None
    connect_time: int | None
    hold_seconds: float | None
    ring_seconds: float | None
    talk_seconds: float | None
    hangup_by: HangupBy
    abandoned: bool
    transferred: bool
    transfer_target: str | None
    outcome: str | None
    did: str | None
    caller: str | None

    def __init__(self, callid: str) -> None:
        for name, spec in QueueCall.__dataclass_fields__.items():
            setattr(self, name, spec.default)
        self.callid = callid

    def apply(self, epoch: int, queue: str, agent: str, event: str, data: list[str]) -> None:
        def field(index: int) -> str:
            return data[index] if index < len(data) else ""

        if queue and queue != "NONE" and self.queue is None:
            self.queue = queue
        if event == "DID":
            self.did = field(0) or None
        elif event == "ENTERQUEUE":
            self.enter_time = self.enter_time or epoch
            self.caller = field(1) or self.caller
        elif event == "CONNECT" and self.agent is None:  # the first agent is on the recording
            self.agent = agent if agent and agent != "NONE" else None
            self.connect_time = epoch
            self.hold_seconds = _number(field(0))
            self.member_uniqueid = field(1) or None
            self.ring_seconds = _number(field(2))
        elif event in _ENDS:
            self.outcome = event
            if event == "COMPLETEAGENT":
                self.hangup_by = HangupBy.AGENT
            elif event == "COMPLETECALLER":
                self.hangup_by = HangupBy.CUSTOMER
            if event in _UNANSWERED_EXITS:
                self.abandoned = event == "ABANDON"
            else:
                self.hold_seconds = _number(field(0))
                self.talk_seconds = _number(field(1))
        elif event in _TRANSFERS:
            self._transfer(event, data)

    def _transfer(self, event: str, data: list[str]) -> None:
        """BLINDTRANSFER|exten|context|hold|talk|pos; TRANSFER (<=11) the same;
        ATTENDEDTRANSFER|method|target...|hold|talk|pos (target is one field, or two for LINK)."""
        self.transferred, self.outcome = True, event
        if len(data) >= 3:
            self.hold_seconds = _number(data[-3])
            self.talk_seconds = _number(data[-2])
        first = data[0] if data else ""
        if event == "ATTENDEDTRANSFER":
            self.transfer_target = first or None
        else:
            context = data[1] if len(data) > 1 else ""
            self.transfer_target = f"{first}@{context}" if first and context else first or None

    def freeze(self) -> QueueCall:
        return QueueCall(**{name: getattr(self, name) for name in self.__slots__})


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # let the read say what is wrong


class QueueLog:
    """Queue calls by callid (and by the answering member channel's uniqueid)."""

    def __init__(self, calls: dict[str, QueueCall]) -> None:
        self.calls = calls
        # Lines left out as not queue_log lines, each "<file>: line N: why" (corrupt lines).
        self.rejected: list[str] = []
        self._by_member = {c.member_uniqueid: c for c in calls.values() if c.member_uniqueid}

    def __len__(self) -> int:
        return len(self.calls)

    def find(self, uniqueid: str) -> QueueCall | None:
        """The queue call whose caller (or answering member) channel has this uniqueid."""
        return self.calls.get(uniqueid) or self._by_member.get(uniqueid)


def parse_queue_log_lines(lines: list[str]) -> QueueLog:
    """Build a :class:`QueueLog` from queue_log lines (any order; applied in time order)."""
    events: list[tuple[int, int, list[str]]] = []
    for order, line in enumerate(lines):
        parts = line.rstrip("\r\n").split("|")
        if len(parts) < 5 or not parts[0].isdigit() or parts[1] in ("", "NONE"):
            continue  # queue-wide lines (QUEUESTART, ADDMEMBER, PAUSE...) or noise
        events.append((int(parts[0]), order, parts))
    events.sort(key=lambda event: (event[0], event[1]))
    passages: dict[str, _Passage] = {}
    for epoch, _, parts in events:
        passage = passages.get(parts[1])
        if passage is None:
            passage = passages[parts[1]] = _Passage(parts[1])
        passage.apply(epoch, parts[2], parts[3], parts[4], parts[5:])
    return QueueLog({callid: passage.freeze() for callid, passage in passages.items()})


def _corrupt_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, why) for each line that is not ``epoch|callid|queue|agent|event|...``."""
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].isdigit():
            found.append((number, "not epoch|callid|queue|agent|event|..."))
    return found


def read_queue_log(path: Path, *, since: float | None = None) -> QueueLog:
    """Read queue_log and its rotated files; with ``since`` (epoch seconds), rotated files last
    written before it are left unread (they hold only older calls).

    Raises :class:`QueueLogReadError` when none exists or one cannot be read.
    """
    files = queue_log_files(path)
    if not files:
        raise QueueLogReadError(f"{path}: no such queue_log (nor rotated copies); check the path")
    if since is not None:
        files = [file for file in files if file == path or _mtime(file) >= since]
    lines: list[str] = []
    rejected: list[str] = []
    for file in files:
        read = _lines(file)
        rejected += [f"{file}: line {n}: {why}" for n, why in _corrupt_lines(read)]
        lines.extend(read)
    queue_log = parse_queue_log_lines(lines)
    queue_log.rejected = rejected
    for problem in rejected:
        log.warning("%s", problem)
    log.info("read %d queue calls from %d queue_log file(s)", len(queue_log), len(files))
    return queue_log
