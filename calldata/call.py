"""A call as ingest knows it: where its audio is and what the PBX said about it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class HangupBy(StrEnum):
    """Who ended the call, from queue_log COMPLETEAGENT / COMPLETECALLER."""

    AGENT = "agent"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


class Call(BaseModel):
    """One call: its recording(s) and metadata from the file name, CDR and queue_log.

    ``recordings`` are paths relative to the store root. One file is either mono (diarized) or
    two-channel; two files are the legs of one call (receive, transmit), each one party.
    """

    model_config = ConfigDict(frozen=True)

    call_id: str = Field(description="The PBX uniqueid (linkedid when known); stable across runs.")
    recordings: tuple[str, ...]
    start: datetime = Field(description="Call start, timezone-aware UTC.")
    direction: Direction = Direction.UNKNOWN
    queue: str | None = None
    agent: str | None = Field(default=None, description="Agent id from the agent directory.")
    agent_name: str | None = None
    caller: str | None = None
    destination: str | None = None
    disposition: str | None = None
    duration: float | None = Field(default=None, description="CDR duration, seconds.")
    billsec: float | None = None
    hangup_by: HangupBy = HangupBy.UNKNOWN
    language: str | None = Field(default=None, description="Forced language, e.g. from the queue.")
    linkedid: str | None = Field(default=None, description="CDR linkedid: ties the call's legs.")
    hold_seconds: float | None = Field(
        default=None, description="queue_log: how long the caller waited in the queue."
    )
    talk_seconds: float | None = Field(
        default=None, description="queue_log: how long the agent talked with the caller."
    )
    transferred: bool = Field(default=False, description="queue_log: the agent transferred it.")
