"""The do-not-disturb list: customers who asked not to be called again, and what they refused.

Every ``do_not_disturb`` flag of a call's latest scorecards is one request; its ``kind`` is the
kind of call refused (``survey``, ``care``, ``marketing``, or ``any`` when the customer named
none). The customer's number is the caller on inbound calls and the number dialled on outbound
ones. The list must be honoured by later campaigns, so it is exported whole (``qa export dnd``)::

    for request in do_not_disturb_list(db, since=date(2026, 11, 1)):
        request.customer_number, request.kind, request.quote
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

import sqlite_utils

from calldata import Direction
from qa.results.store import call_scores

__all__ = ["DND_FLAG", "DoNotDisturbRequest", "do_not_disturb_list"]

DND_FLAG = "do_not_disturb"


@dataclass(frozen=True)
class DoNotDisturbRequest:
    """One customer's request, from one call."""

    customer_number: str  # '' when the PBX recorded none
    kind: str  # the kind of call refused: survey | care | marketing | any | ...
    call_id: str
    start: datetime
    direction: str
    queue: str | None
    agent: str | None
    agent_name: str | None
    quote: str  # the customer's words
    quote_start: float | None  # seconds into the call


def do_not_disturb_list(
    db: sqlite_utils.Database,
    *,
    since: date | None = None,
    until: date | None = None,
    kind: str | None = None,
    tz: tzinfo = UTC,
) -> list[DoNotDisturbRequest]:
    """Every do-not-disturb request, oldest first; one per call and kind refused. ``since`` and
    ``until`` bound the call's local day (inclusive); ``kind`` keeps one kind of call refused."""
    numbers = {
        row[0]: row[1:]
        for row in db.execute("select call_id, direction, caller, destination from calls")
    }
    found: dict[tuple[str, str], DoNotDisturbRequest] = {}
    for score in call_scores(db):
        day = score.start.astimezone(tz).date()
        if (since and day < since) or (until and day > until):
            continue
        for flag in score.flags:
            refused = flag.kind or "any"
            if flag.id != DND_FLAG or (kind is not None and refused != kind):
                continue
            if (score.call_id, refused) in found:
                continue  # raised by two rubrics of one call
            direction, caller, destination = numbers.get(score.call_id, ("", "", ""))
            number = destination if direction == Direction.OUTBOUND.value else caller
            customer = [e for e in flag.evidence if e.speaker.value == "customer"] or list(
                flag.evidence
            )
            found[(score.call_id, refused)] = DoNotDisturbRequest(
                customer_number=number or "",
                kind=refused,
                call_id=score.call_id,
                start=score.start,
                direction=direction or Direction.UNKNOWN.value,
                queue=score.queue,
                agent=score.agent,
                agent_name=score.agent_name,
                quote=" / ".join(dict.fromkeys(e.text.strip() for e in customer)),
                quote_start=customer[0].start if customer else None,
            )
    return sorted(found.values(), key=lambda r: (r.start, r.call_id, r.kind))
