"""The complaint case record, its statuses, milestones and escalation deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

AUTOMATIC = "(automatic)"  # opened_by of cases opened from flags
SEVERITIES = ("critical", "high", "medium", "low")


class CaseError(Exception):
    """A complaint case cannot be changed as asked; the message says what to do."""


class CaseNotFoundError(CaseError, LookupError):
    pass


class CaseStatus(StrEnum):
    OPEN = "open"  # received; nobody is handling it yet
    IN_PROGRESS = "in_progress"  # someone is handling it
    RESOLVED = "resolved"  # a solution was given to the customer
    CLOSED = "closed"  # finished (confirmed with the customer, or withdrawn)


class Milestone(StrEnum):
    OWNERSHIP = "ownership"  # the customer was told who owns their case
    REPLY = "reply"
    HANDLING = "handling"
    RESOLUTION = "resolution"


class Clock(StrEnum):
    """When a deadline's clock starts."""

    COMPLAINT = "complaint"  # the customer complained (the call's start)
    RECORDED = "recorded"  # the case reached this store (the night's run, or a reviewer)


@dataclass(frozen=True)
class Escalation:
    """One rule of the source documents: ``milestone`` not reached ``after`` the ``clock``
    started escalates the case to ``escalate_to``."""

    after: timedelta
    milestone: Milestone
    escalate_to: str
    clock: Clock = Clock.COMPLAINT

    @property
    def key(self) -> str:
        """A short stable name for the rule: ``4h``, ``3d`` (alert keys use it)."""
        hours = int(self.after.total_seconds()) // 3600
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"

    @property
    def description(self) -> str:
        missing = {
            "ownership": "owner not confirmed to the customer",
            "reply": "no reply",
            "handling": "not handled",
            "resolution": "not resolved",
        }
        hours = int(self.after.total_seconds()) // 3600
        span = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
        since = " of the case being recorded" if self.clock is Clock.RECORDED else ""
        return f"{missing[self.milestone.value]} in {span}{since} → {self.escalate_to}"


# The four-hour ownership confirmation runs from when the case reached the store, not from the
# call: a nightly run learns of yesterday's complaint hours after it was made, and a deadline
# that had passed before anyone could see the case would only be noise.
ESCALATIONS: tuple[Escalation, ...] = (
    Escalation(timedelta(hours=4), Milestone.OWNERSHIP, "supervisor", Clock.RECORDED),
    Escalation(timedelta(days=3), Milestone.REPLY, "direct manager"),
    Escalation(timedelta(days=7), Milestone.HANDLING, "branch head"),
    Escalation(timedelta(days=15), Milestone.RESOLUTION, "company president"),
    Escalation(timedelta(days=20), Milestone.RESOLUTION, "chairman"),
)


@dataclass(frozen=True)
class Deadline:
    """An escalation rule applied to one case, as of ``now``.

    ``state``: ``met`` (milestone reached in time), ``met late``, ``missed`` (past due and not
    reached: the case is escalated), ``pending`` (not due yet) or ``moot`` (the case was resolved
    before the milestone mattered)."""

    escalation: Escalation
    due: datetime
    reached_at: datetime | None
    state: str


@dataclass(frozen=True)
class ComplaintCase:
    """A complaint case with what the overdue list and the Complaints tab show about its call."""

    case_id: int
    call_id: str
    call_start: datetime
    agent: str | None
    agent_name: str | None
    source: str  # flag | reviewer
    flag_id: str
    severity: str
    summary: str
    owner: str
    status: CaseStatus
    opened_at: datetime
    opened_by: str
    recorded_at: datetime  # when the case reached the store (its ownership clock starts)
    ownership_confirmed_at: datetime | None
    replied_at: datetime | None
    handling_since: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime | None

    @property
    def active(self) -> bool:
        """Open or in progress: the escalation clock is still running."""
        return self.status in (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)

    @property
    def agent_label(self) -> str:
        return self.agent_name or self.agent or "(unknown)"

    def reached(self, milestone: Milestone) -> datetime | None:
        """When the milestone was reached (None: not yet)."""
        return {
            Milestone.OWNERSHIP: self.ownership_confirmed_at,
            Milestone.REPLY: self.replied_at,
            Milestone.HANDLING: self.handling_since,
            Milestone.RESOLUTION: self.resolved_at,
        }[milestone]

    def deadlines(self, now: datetime | None = None) -> tuple[Deadline, ...]:
        """Every escalation rule for this case, as of ``now`` (default: the current time)."""
        now = now or datetime.now(UTC)
        found = []
        for rule in ESCALATIONS:
            start = self.recorded_at if rule.clock is Clock.RECORDED else self.opened_at
            due = max(start, self.opened_at) + rule.after
            reached = self.reached(rule.milestone)
            if reached is not None:
                state = "met" if reached < due else "met late"
            elif not self.active:
                state = "moot"
            else:
                state = "missed" if now >= due else "pending"
            found.append(Deadline(rule, due, reached, state))
        return tuple(found)

    def escalation(self, now: datetime | None = None) -> Escalation | None:
        """The highest level this case is escalated to now (None: on time)."""
        missed = [d.escalation for d in self.deadlines(now) if d.state == "missed"]
        return missed[-1] if missed else None

    def next_deadline(self, now: datetime | None = None) -> Deadline | None:
        """The next deadline not yet due whose milestone is still to reach."""
        pending = [d for d in self.deadlines(now) if d.state == "pending"]
        return min(pending, key=lambda d: d.due) if pending else None


@dataclass(frozen=True)
class OverdueCase:
    """An active case with a missed deadline: who it is escalated to, since when."""

    case: ComplaintCase
    escalation: Escalation
    due: datetime

    def overdue_by(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.due


@dataclass(frozen=True)
class CaseEvent:
    """One change to a case, for its history."""

    case_id: int
    at: datetime
    by: str
    action: str  # opened | owner | status | ownership | reply
    before: str
    after: str
    note: str


def parse_time(text: str | None) -> datetime | None:
    """A stored ISO time as an aware UTC datetime; None for none."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored_time(text: str | None) -> datetime:
    """A stored ISO time the schema requires (a call's start, a case's opening, an event's
    time) as an aware UTC datetime."""
    value = parse_time(text)
    if value is None:
        raise ValueError("a required time is missing from the store")
    return value


def iso_time(when: datetime) -> str:
    """A datetime as stored: ISO 8601 UTC to the second (naive counts as UTC)."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")
