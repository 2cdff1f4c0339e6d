"""Coaching tasks: a lead gives an agent a goal, a due date and the moments of their calls to
listen to; the agent acknowledges it; the lead completes it; the agent's trend before and after
shows whether it helped::

    task = assign_task(db, sam, "1002", "Greet with the company name", date(2026, 12, 4),
                       [Moment("1763655760.42", 0.3, "no greeting here")])
    acknowledge_task(db, bob, task.task_id)            # bob, an agent linked to 1002
    complete_task(db, sam, task.task_id, "greets every call now")
    coaching_trend(db, task, weeks=4)                   # average score 4 weeks before / after

And a library of exemplary calls, good and bad, tagged by topic, with playlists for the monthly
quality meeting::

    add_to_library(db, sam, "c1-good-en", "good", ["greeting", "identity"], "model opening")
    library(db, topic="greeting")                  # LibraryCall, newest first
    create_playlist(db, sam, "December meeting", ["c1-good-en", "c6-no-greeting-en"])

A moment is a call of the agent's and a time in it (seconds, as evidence times are), with a note.
Every step is in the audit log (``coaching.assign``, ``coaching.acknowledge``,
``coaching.complete``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import sqlite_utils

from qa.access import audit_log
from qa.access.permissions import Action, PermissionDeniedError, require
from qa.access.roles import User
from qa.records.agents import agent_records
from qa.review.appeals import own_agent
from qa.review.state import ReviewConflictError, ReviewInputError, write_transaction
from qa.sql import Filters, inserted_id, utcnow

__all__ = [
    "CoachingTask",
    "LibraryCall",
    "Moment",
    "Playlist",
    "acknowledge_task",
    "add_to_library",
    "assign_task",
    "coaching_trend",
    "complete_task",
    "create_playlist",
    "library",
    "list_tasks",
    "playlists",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Moment:
    """A time in one of the agent's calls to listen to."""

    call_id: str
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class CoachingTask:
    task_id: int
    agent: str
    goal: str
    due: date
    status: str  # assigned | acknowledged | done
    created_by: str
    created_at: datetime
    acknowledged_at: datetime | None
    completed_by: str | None
    completed_at: datetime | None
    note: str
    moments: tuple[Moment, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "task_id": self.task_id, "agent": self.agent, "goal": self.goal,
            "due": self.due.isoformat(), "status": self.status, "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "completed_by": self.completed_by,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "note": self.note,
            "moments": [{"call_id": m.call_id, "seconds": m.seconds, "note": m.note}
                        for m in self.moments],
        }  # fmt: skip


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def list_tasks(
    db: sqlite_utils.Database, *, agent: str | None = None, status: str | None = None
) -> list[CoachingTask]:
    """Coaching tasks, newest first: of ``agent`` (the identity), with ``status``."""
    where = Filters()
    if agent is not None:
        where.add("agent = ?", agent)
    if status is not None:
        where.add("status = ?", status)
    rows = db.execute(
        "select task_id, agent, goal, due, status, created_by, created_at, acknowledged_at, "
        "completed_by, completed_at, note from coaching_tasks"
        + where.sql()
        + " order by task_id desc",
        where.params,
    ).fetchall()
    moments: dict[int, list[Moment]] = {}
    for task_id, call_id, seconds, note in db.execute(
        "select task_id, call_id, seconds, note from coaching_moments order by task_id, position"
    ).fetchall():
        moments.setdefault(task_id, []).append(Moment(call_id, seconds, note or ""))
    return [
        CoachingTask(row[0], row[1], row[2], date.fromisoformat(row[3]), row[4], row[5] or "",
                     datetime.fromisoformat(row[6]), _dt(row[7]), row[8], _dt(row[9]),
                     row[10] or "", tuple(moments.get(row[0], ())))
        for row in rows
    ]  # fmt: skip


def _task(db: sqlite_utils.Database, task_id: int) -> CoachingTask:
    found = [t for t in list_tasks(db) if t.task_id == task_id]
    if not found:
        raise ReviewInputError(f"no coaching task #{task_id}: list them with `qa coaching list`")
    return found[0]


def assign_task(
    db: sqlite_utils.Database,
    user: User,
    agent: str,
    goal: str,
    due: date,
    moments: Sequence[Moment],
) -> CoachingTask:
    """Give ``agent`` (the agent id, or the queue member name) a coaching task: a goal, a due
    date, and at least one moment of one of their calls."""
    require(user, Action.COACH_AGENTS)
    goal, agent = goal.strip(), agent.strip()
    if not goal:
        raise ReviewInputError("say what the agent should work on (the goal)")
    if not moments:
        raise ReviewInputError("add at least one moment of a call to listen to")
    now = utcnow()
    with write_transaction(db):
        for moment in moments:
            row = db.execute(
                "select 1 from calls where call_id = ? and (agent = ? or agent_name = ?)",
                [moment.call_id, agent, agent],
            ).fetchone()
            if row is None:
                raise ReviewInputError(f"call {moment.call_id!r} is not a call of agent {agent}")
        cursor = db.conn.execute(
            "insert into coaching_tasks (agent, goal, due, status, created_by, created_at, note) "
            "values (?, ?, ?, 'assigned', ?, ?, '')",
            [agent, goal, due.isoformat(), user.username, now],
        )
        task_id = inserted_id(cursor)
        db.conn.executemany(
            "insert into coaching_moments (task_id, position, call_id, seconds, note) "
            "values (?, ?, ?, ?, ?)",
            [(task_id, i, m.call_id, float(m.seconds), m.note.strip())
             for i, m in enumerate(moments)],
        )  # fmt: skip
        audit_log.record(db, user.username, "coaching.assign", target=f"task {task_id}",
                         after=f"{agent}: {goal} (due {due.isoformat()})", at=now)  # fmt: skip
    logger.info("%s assigned coaching task %d to %s", user.username, task_id, agent)
    return _task(db, task_id)


def acknowledge_task(db: sqlite_utils.Database, user: User, task_id: int) -> CoachingTask:
    """The agent acknowledges their own coaching task."""
    require(user, Action.APPEAL_EVALUATIONS)
    with write_transaction(db):
        agent = own_agent(db, user)
        task = _task(db, task_id)
        if task.agent != agent:
            raise PermissionDeniedError(f"coaching task #{task_id} is not one of yours")
        if task.status != "assigned":
            raise ReviewConflictError(f"coaching task #{task_id} is already {task.status}")
        now = utcnow()
        db.conn.execute(
            "update coaching_tasks set status = 'acknowledged', acknowledged_at = ? "
            "where task_id = ?",
            [now, task_id],
        )
        audit_log.record(db, user.username, "coaching.acknowledge", target=f"task {task_id}",
                         at=now)  # fmt: skip
    return _task(db, task_id)


def complete_task(
    db: sqlite_utils.Database, user: User, task_id: int, note: str = ""
) -> CoachingTask:
    """The lead marks the task done, with a note."""
    require(user, Action.COACH_AGENTS)
    with write_transaction(db):
        task = _task(db, task_id)
        if task.status == "done":
            raise ReviewConflictError(f"coaching task #{task_id} is already done")
        now = utcnow()
        db.conn.execute(
            "update coaching_tasks set status = 'done', completed_by = ?, completed_at = ?, "
            "note = ? where task_id = ?",
            [user.username, now, note.strip(), task_id],
        )
        audit_log.record(db, user.username, "coaching.complete", target=f"task {task_id}",
                         reason=note.strip(), at=now)  # fmt: skip
    return _task(db, task_id)


def coaching_trend(
    db: sqlite_utils.Database, task: CoachingTask, *, weeks: int = 4, tz: tzinfo = UTC
) -> tuple[float | None, float | None]:
    """The agent's average score over the ``weeks`` before the task was assigned, and from
    then on for ``weeks`` (None: no scored calls there)."""
    start = task.created_at.astimezone(tz).date()
    span = timedelta(weeks=weeks)
    before = agent_records(db, agent=task.agent, since=start - span,
                           until=start - timedelta(days=1), tz=tz)  # fmt: skip
    after = agent_records(db, agent=task.agent, since=start, until=start + span, tz=tz)
    return (before[0].average_score if before else None,
            after[0].average_score if after else None)  # fmt: skip


# --- the library of exemplary calls --------------------------------------------------------------


@dataclass(frozen=True)
class LibraryCall:
    """A call kept as an example: good or bad, tagged by topic."""

    call_id: str
    kind: str  # good | bad
    topics: tuple[str, ...]
    note: str
    added_by: str
    agent: str | None


@dataclass(frozen=True)
class Playlist:
    playlist_id: int
    title: str
    created_by: str
    call_ids: tuple[str, ...]


def add_to_library(
    db: sqlite_utils.Database,
    user: User,
    call_id: str,
    kind: str,
    topics: Sequence[str],
    note: str = "",
) -> LibraryCall:
    """Keep ``call_id`` as a good or bad example, tagged with ``topics`` (replaces an earlier
    entry of the call)."""
    require(user, Action.COACH_AGENTS)
    if kind not in ("good", "bad"):
        raise ReviewInputError(f"an example is good or bad, not {kind!r}")
    tags = sorted({t.strip().lower() for t in topics if t.strip()})
    if not tags:
        raise ReviewInputError("tag the call with at least one topic, e.g. greeting")
    if db.execute("select 1 from calls where call_id = ?", [call_id]).fetchone() is None:
        raise ReviewInputError(f"no call {call_id!r} in the store")
    now = utcnow()
    with write_transaction(db):
        db.conn.execute(
            "insert or replace into library_calls (call_id, kind, topics, note, added_by, "
            "added_at) values (?, ?, ?, ?, ?, ?)",
            [call_id, kind, ",".join(tags), note.strip(), user.username, now],
        )
        audit_log.record(
            db, user.username, "library.add", call_id=call_id,
            after=f"{kind}: {', '.join(tags)}", reason=note.strip(), at=now,
        )  # fmt: skip
    return library(db, call_id=call_id)[0]


def library(
    db: sqlite_utils.Database,
    *,
    topic: str | None = None,
    kind: str | None = None,
    call_id: str | None = None,
) -> list[LibraryCall]:
    """The library, newest first: of one topic, one kind, one call."""
    where = Filters()
    if kind is not None:
        where.add("l.kind = ?", kind)
    if call_id is not None:
        where.add("l.call_id = ?", call_id)
    rows = db.execute(
        "select l.call_id, l.kind, l.topics, l.note, l.added_by, coalesce(c.agent_name, c.agent) "
        "from library_calls l join calls c on c.call_id = l.call_id"
        + where.sql()
        + " order by l.added_at desc, l.call_id",
        where.params,
    ).fetchall()
    found = [LibraryCall(r[0], r[1], tuple(r[2].split(",")), r[3] or "", r[4] or "", r[5])
             for r in rows]  # fmt: skip
    wanted = topic.strip().lower() if topic else None
    return [c for c in found if wanted is None or wanted in c.topics]


def create_playlist(
    db: sqlite_utils.Database, user: User, title: str, call_ids: Sequence[str]
) -> Playlist:
    """A playlist of library calls, in the order given (for the monthly quality meeting)."""
    require(user, Action.COACH_AGENTS)
    calls = [c.strip() for c in call_ids if c.strip()]
    if not title.strip() or not calls:
        raise ReviewInputError("give the playlist a title and at least one library call")
    kept = {c.call_id for c in library(db)}
    missing = [c for c in calls if c not in kept]
    if missing:
        raise ReviewInputError(f"add these to the library first: {', '.join(missing)}")
    now = utcnow()
    with write_transaction(db):
        cursor = db.conn.execute(
            "insert into playlists (title, created_by, created_at) values (?, ?, ?)",
            [title.strip(), user.username, now],
        )
        playlist_id = inserted_id(cursor)
        db.conn.executemany(
            "insert into playlist_calls (playlist_id, position, call_id) values (?, ?, ?)",
            [(playlist_id, i, c) for i, c in enumerate(calls)],
        )
        audit_log.record(db, user.username, "library.playlist", target=f"playlist {playlist_id}",
                         after=f"{title.strip()}: {', '.join(calls)}", at=now)  # fmt: skip
    return playlists(db)[0]


def playlists(db: sqlite_utils.Database) -> list[Playlist]:
    """Every playlist, newest first, with its calls in order."""
    calls: dict[int, list[str]] = {}
    for playlist_id, call_id in db.execute(
        "select playlist_id, call_id from playlist_calls order by playlist_id, position"
    ).fetchall():
        calls.setdefault(playlist_id, []).append(call_id)
    return [
        Playlist(pid, title, by or "", tuple(calls.get(pid, ())))
        for pid, title, by in db.execute(
            "select playlist_id, title, created_by from playlists order by playlist_id desc"
        ).fetchall()
    ]
