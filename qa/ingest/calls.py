"""Assembling :class:`calldata.Call` records from what the spool, the CDR and queue_log say.

The recording's name is always there; CDR rows and queue_log lines add to it when they exist (a
recording with no CDR row is still a call). The call's start is the uniqueid's epoch: the PBX's
local HHMMSS repeats an hour when daylight saving ends, the epoch does not::

    sources = CallSources(cdr=cdr, queue_log=queue_log, agents=AgentDirectory(config.agents),
                          zone=config.zone)
    call = build_call(recording, sources)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from calldata import Call, Direction, HangupBy
from qa.ingest.agents import AgentDirectory
from qa.ingest.cdr import CdrIndex, CdrRecord, local_to_utc, uniqueid_epoch
from qa.ingest.ledger import FileDecision
from qa.ingest.names import RecordingName
from qa.ingest.queue_log import QueueCall, QueueLog
from qa.ingest.spool import RecordingSet, SkippedFile

__all__ = [
    "Attribution",
    "CallSources",
    "IngestResult",
    "attribute",
    "base_call_id",
    "build_call",
]

log = logging.getLogger(__name__)

_NO_NUMBER = frozenset({"", "unknown", "anonymous", "s"})
# Dialplan contexts a call from outside the PBX arrives in (FreePBX and common plain setups).
_INBOUND_CONTEXTS = ("from-trunk", "from-pstn", "from-did", "ext-queues", "ext-group", "from-sip")


@dataclass(frozen=True)
class CallSources:
    """What is known about calls besides their recordings: the CDR, queue_log, the agent
    directory, the PBX time zone, and the language of each queue (``default_language`` for calls
    whose queue has none)."""

    cdr: CdrIndex | None = None
    queue_log: QueueLog | None = None
    agents: AgentDirectory = field(default_factory=AgentDirectory)
    zone: tzinfo = UTC
    queue_languages: Mapping[str, str] = field(default_factory=dict)
    default_language: str | None = None


@dataclass
class IngestResult:
    """What one ingest found.

    ``calls``: every call of the store ingest knows, oldest first — those taken in this run
    (``new_call_ids``) and those taken by earlier runs (from the ledger, their files not read
    again). ``skipped``: the files set aside in this run (skipped, deferred, failed), with
    reasons. ``decisions``: one per file examined in this run, with its action (``qa ingest
    --dry-run``). ``known_files``: files settled by earlier runs and not examined again.
    """

    store: Path
    calls: list[Call] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    decisions: list[FileDecision] = field(default_factory=list)
    new_call_ids: set[str] = field(default_factory=set)
    known_files: int = 0

    @property
    def new_calls(self) -> list[Call]:
        """The calls taken for the first time in this run."""
        return [call for call in self.calls if call.call_id in self.new_call_ids]


@dataclass(frozen=True)
class Attribution:
    """What the CDR and queue_log say about one recording."""

    row: CdrRecord | None = None
    queue_call: QueueCall | None = None


def _number(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in _NO_NUMBER else value.strip()


def _local_start(name: RecordingName, zone: tzinfo) -> datetime | None:
    """The PBX wall-clock start the name gives (for CDR rows without uniqueid)."""
    if name.local_time is not None:
        return name.local_time
    if name.epoch is not None:
        return datetime.fromtimestamp(name.epoch, zone).replace(tzinfo=None)
    return None


def attribute(recording: RecordingSet, sources: CallSources) -> Attribution:
    """Find the recording's CDR row and queue_log passage."""
    name = recording.name
    row = None
    if sources.cdr is not None:
        row = sources.cdr.find(
            name.uniqueid,
            stem=name.stem,
            local_start=_local_start(name, sources.zone),
            numbers=(name.source, name.destination),
        )
    queue_call = None
    if sources.queue_log is not None:
        for key in (name.uniqueid, row.linkedid if row else None, row.uniqueid if row else None):
            queue_call = sources.queue_log.find(key) if key else None
            if queue_call is not None:
                break
    return Attribution(row, queue_call)


def base_call_id(recording: RecordingSet, attribution: Attribution) -> str:
    """The call's id before disambiguation: the CDR linkedid, else the uniqueid (the name's, or
    the CDR row's for a file without one), else the file's stem."""
    row = attribution.row
    if row is not None and row.linkedid:
        return row.linkedid
    return recording.uniqueid or (row.uniqueid if row else None) or recording.name.stem


def _start(name: RecordingName, row: CdrRecord | None, zone: tzinfo) -> datetime:
    epoch = name.epoch if name.uniqueid else uniqueid_epoch(row.uniqueid if row else None)
    if epoch is None:
        epoch = name.epoch
    if epoch is not None:
        return datetime.fromtimestamp(epoch, UTC)
    if name.local_time is not None:
        return local_to_utc(name.local_time, zone)
    raise ValueError(f"{name.filename}: no start time in the name")  # parse_recording_name forbids


def _direction(name: RecordingName, row: CdrRecord | None, queue: QueueCall | None) -> Direction:
    direction = name.direction
    if direction != Direction.UNKNOWN:
        return direction
    if queue is not None:
        return Direction.INBOUND
    if row is not None:
        context = row.dcontext.lower()
        if context.startswith(_INBOUND_CONTEXTS):
            return Direction.INBOUND
        if context.startswith("from-internal"):
            return Direction.OUTBOUND if len(row.dst) >= 7 else Direction.INTERNAL
    return Direction.UNKNOWN


def _agent_candidates(
    name: RecordingName, direction: Direction, cdr: CdrRecord | None, queue: QueueCall | None
) -> list[str | None]:
    """PBX identities that may name the agent, most trustworthy first."""
    candidates: list[str | None] = [queue.agent if queue else None]
    if cdr is not None:
        # The agent's device is the answering side of an inbound call, the caller of an outbound.
        channels = [cdr.channel, cdr.dstchannel]
        if direction != Direction.OUTBOUND:
            channels.reverse()
        candidates += channels
    if direction == Direction.OUTBOUND:
        candidates.append(name.source)  # out-<dialled number>-<extension>-...
    else:
        candidates += [name.destination, name.source]
    return candidates


def build_call(
    recording: RecordingSet,
    sources: CallSources = CallSources(),
    *,
    call_id: str | None = None,
    attribution: Attribution | None = None,
) -> Call:
    """One call from its recording(s) and whatever the CDR and queue_log say about it."""
    found = attribution if attribution is not None else attribute(recording, sources)
    row, queue_call = found.row, found.queue_call
    name = recording.name
    direction = _direction(name, row, queue_call)
    queue = queue_call.queue if queue_call and queue_call.queue else None
    if queue is None and name.kind.lower() == "q":
        queue = name.destination
    agent = sources.agents.first(*_agent_candidates(name, direction, row, queue_call))
    agent_name = agent.name if agent else (queue_call.agent if queue_call else None)
    language = sources.queue_languages.get(queue or "") or sources.default_language
    return Call(
        call_id=call_id or base_call_id(recording, found),
        recordings=recording.paths,
        start=_start(name, row, sources.zone),
        direction=direction,
        queue=queue,
        agent=agent.id if agent else None,
        agent_name=agent_name,
        caller=_number(queue_call.caller if queue_call else None)
        or _number(row.src if row else None)
        or _number(name.source),
        destination=_number(row.dst if row else None) or _number(name.destination),
        disposition=row.disposition if row else None,
        duration=row.duration if row else None,
        billsec=row.billsec if row else None,
        hangup_by=queue_call.hangup_by if queue_call else HangupBy.UNKNOWN,
        language=language,
        linkedid=row.linkedid if row else None,
        hold_seconds=queue_call.hold_seconds if queue_call else None,
        talk_seconds=queue_call.talk_seconds if queue_call else None,
        transferred=queue_call.transferred if queue_call else False,
    )
