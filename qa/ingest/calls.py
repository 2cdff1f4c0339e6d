"""Assembling :class:`calldata.Call` records from what the spool, the CDR and queue_log say.

The recording's name is always there; CDR rows and queue_log lines add to it when they exist (a
recording with no CDR row is still a call). The call's start is the uniqueid's epoch: the PBX's
local HHMMSS repeats an hour when daylight saving ends, the epoch does not::

    sources = CallSources(cdr=cdr, queue_log=queue_log, agents=AgentDirectory(config.agents),
                          zone=config.zone)
    result = ingest_store(Path("/var/spool/asterisk/monitor"), sources)
    result.calls, result.skipped
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from calldata import Call, Direction, HangupBy
from qa.ingest.agents import AgentDirectory
from qa.ingest.cdr_csv import CdrIndex, CdrRecord
from qa.ingest.names import RecordingName
from qa.ingest.queue_log import QueueCall, QueueLog
from qa.ingest.spool import RecordingSet, SkippedFile, walk_spool

__all__ = ["CallSources", "IngestResult", "build_call", "ingest_store"]

log = logging.getLogger(__name__)

_NO_NUMBER = frozenset({"", "unknown", "anonymous", "s"})


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
    """The calls found in a store (oldest first) and the files set aside, with reasons."""

    store: Path
    calls: list[Call] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _number(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in _NO_NUMBER else value.strip()


def _start(name: RecordingName, zone: tzinfo) -> datetime:
    if name.epoch is not None:
        return datetime.fromtimestamp(name.epoch, UTC)
    return name.local_time.replace(tzinfo=zone).astimezone(UTC)


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
    recording: RecordingSet, sources: CallSources = CallSources(), *, call_id: str | None = None
) -> Call:
    """One call from its recording(s) and whatever the CDR and queue_log say about it."""
    cdr, queue_log, zone = sources.cdr, sources.queue_log, sources.zone
    name = recording.name
    uniqueid = name.uniqueid
    queue_call = queue_log.find(uniqueid) if queue_log else None
    local_start = name.local_time.replace(tzinfo=zone).astimezone(UTC)
    numbers = (name.source, name.destination)
    row = cdr.find(uniqueid, start=local_start, numbers=numbers) if cdr else None
    direction = name.direction
    if direction == Direction.UNKNOWN and queue_call is not None:
        direction = Direction.INBOUND
    queue = queue_call.queue if queue_call and queue_call.queue else None
    if queue is None and name.kind.lower() == "q":
        queue = name.destination
    agent = sources.agents.first(*_agent_candidates(name, direction, row, queue_call))
    agent_name = agent.name if agent else (queue_call.agent if queue_call else None)
    language = sources.queue_languages.get(queue or "") or sources.default_language
    return Call(
        call_id=call_id or uniqueid,
        recordings=recording.paths,
        start=_start(name, zone),
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
    )


def _call_ids(recordings: list[RecordingSet]) -> list[str]:
    """The uniqueid, unless several recordings share it (a transfer recorded twice): then the
    stem, which is unique per folder and stable across runs, disambiguates them."""
    counts: dict[str, int] = defaultdict(int)
    for recording in recordings:
        counts[recording.uniqueid] += 1
    ids = []
    for recording in recordings:
        uid = recording.uniqueid
        ids.append(uid if counts[uid] == 1 else f"{uid}/{recording.name.stem}")
    return ids


def ingest_store(
    store: Path,
    sources: CallSources = CallSources(),
    *,
    min_age_seconds: float = 0.0,
    now: float | None = None,
) -> IngestResult:
    """Walk ``store`` and return its calls, oldest first, with the files set aside.

    Raises :class:`qa.ingest.spool.SpoolError` when the store is not a readable folder.
    """
    scan = walk_spool(store, min_age_seconds=min_age_seconds, now=now)
    result = IngestResult(store=store, skipped=scan.skipped)
    for recording, call_id in zip(scan.recordings, _call_ids(scan.recordings), strict=True):
        result.calls.append(build_call(recording, sources, call_id=call_id))
    result.calls.sort(key=lambda call: (call.start, call.call_id))
    return result
