"""Coaching tasks (qa.records.coaching) over tests/records_store.py's store: a lead assigns Bob a
task with moments of his calls, Bob acknowledges it, the lead completes it; the trend before and
after; who may do what; ``qa coaching list``; and the agent's notice."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_store import build_records_store

from qa.access.agent_links import link_agent
from qa.access.audit_log import entries
from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.cli import main
from qa.db import open_db
from qa.records.coaching import (
    Moment,
    acknowledge_task,
    add_to_library,
    assign_task,
    coaching_trend,
    complete_task,
    create_playlist,
    library,
    list_tasks,
    playlists,
)
from qa.review.notifications import notifications
from qa.review.state import ReviewConflictError, ReviewInputError

SAM, RITA = User("sam", Role.SUPERVISOR), User("rita", Role.REVIEWER)
BOB, ALICE = User("bob", Role.AGENT), User("alice", Role.AGENT)
GOAL = "Greet with the company name and your own"


@pytest.fixture
def db(tmp_path: Path):
    store = open_db(build_records_store(tmp_path))
    for person in (BOB, ALICE):
        add_user(store, person.username, "a long enough password", person.role)
    link_agent(store, "bob", "1002")
    link_agent(store, "alice", "1001")
    yield store
    store.close()


def test_assign_acknowledge_complete_and_the_trend(db) -> None:
    task = assign_task(db, SAM, "1002", GOAL, date(2026, 12, 4),
                       [Moment("c6-no-greeting-en", 0.5, "no greeting"),
                        Moment("c2-no-id-en", 9.0, "cancelled before the ID check")])  # fmt: skip
    assert (task.status, task.agent, len(task.moments)) == ("assigned", "1002", 2)
    assert [n.text for n in notifications(db, BOB)] == ["1 coaching task(s) to acknowledge"]
    with pytest.raises(PermissionDeniedError, match="not one of yours"):
        acknowledge_task(db, ALICE, task.task_id)
    assert acknowledge_task(db, BOB, task.task_id).status == "acknowledged"
    assert notifications(db, BOB) == []
    with pytest.raises(ReviewConflictError, match="already acknowledged"):
        acknowledge_task(db, BOB, task.task_id)
    done = complete_task(db, SAM, task.task_id, "greets every call now")
    assert (done.status, done.completed_by, done.note) == ("done", "sam", "greets every call now")
    assert [e.action for e in entries(db, action_prefix="coaching.")] == [
        "coaching.assign", "coaching.acknowledge", "coaching.complete"]  # fmt: skip
    # Bob's calls: 0 (20 Nov) and 61.54 (25 Nov) before 1 December, 0 on 1 December.
    backdated = replace(done, created_at=datetime(2026, 12, 1, 12, tzinfo=UTC))
    before, after = coaching_trend(db, backdated, weeks=4)
    assert (round(before, 2), after) == (round((0 + 61.54) / 2, 2), 0.0)


def test_only_leads_assign_and_only_the_agents_calls(db) -> None:
    with pytest.raises(PermissionDeniedError, match="may not assign coaching tasks"):
        assign_task(db, RITA, "1002", GOAL, date(2026, 12, 4), [Moment("c2-no-id-en", 1)])
    with pytest.raises(ReviewInputError, match="not a call of agent 1002"):
        assign_task(db, SAM, "1002", GOAL, date(2026, 12, 4), [Moment("c1-good-en", 1)])
    with pytest.raises(ReviewInputError, match="at least one moment"):
        assign_task(db, SAM, "1002", GOAL, date(2026, 12, 4), [])
    assert list_tasks(db) == []


def test_qa_coaching_list(db, tmp_path: Path) -> None:
    assign_task(db, SAM, "1002", GOAL, date(2026, 12, 4), [Moment("c6-no-greeting-en", 0.5)])
    db_path = tmp_path / "copy.db"
    db.execute(f"vacuum into '{db_path}'")

    def qa(*args: str) -> str:
        result = CliRunner().invoke(main, ["coaching", "list", "--db", str(db_path), *args],
                                    catch_exceptions=False)  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output

    (row,) = [json.loads(line) for line in qa("--json").splitlines()]
    assert (row["agent"], row["goal"], row["status"]) == ("1002", GOAL, "assigned")
    assert row["moments"] == [{"call_id": "c6-no-greeting-en", "seconds": 0.5, "note": ""}]
    (line,) = csv.DictReader(io.StringIO(qa("--csv", "--agent", "1002")))
    assert line["moments"] == "c6-no-greeting-en@0.5"
    assert qa("--status", "done", "--json") == ""


def test_the_library_of_exemplary_calls_and_playlists(db) -> None:
    with pytest.raises(PermissionDeniedError, match="may not assign coaching tasks"):
        add_to_library(db, RITA, "c1-good-en", "good", ["greeting"])
    with pytest.raises(ReviewInputError, match="at least one topic"):
        add_to_library(db, SAM, "c1-good-en", "good", [" "])
    add_to_library(db, SAM, "c1-good-en", "good", ["Greeting", "identity"], "model opening")
    add_to_library(db, SAM, "c6-no-greeting-en", "bad", ["greeting"], "no greeting at all")
    add_to_library(db, SAM, "c3-complaint-en", "good", ["complaint"])
    assert sorted(c.call_id for c in library(db, topic="greeting")) == [
        "c1-good-en", "c6-no-greeting-en"]  # fmt: skip
    assert [c.call_id for c in library(db, kind="bad")] == ["c6-no-greeting-en"]
    assert library(db, call_id="c1-good-en")[0].topics == ("greeting", "identity")
    with pytest.raises(ReviewInputError, match="add these to the library first: c2-no-id-en"):
        create_playlist(db, SAM, "December", ["c1-good-en", "c2-no-id-en"])
    made = create_playlist(db, SAM, "December meeting", ["c6-no-greeting-en", "c1-good-en"])
    assert (made.title, made.call_ids) == ("December meeting", ("c6-no-greeting-en", "c1-good-en"))
    assert [p.playlist_id for p in playlists(db)] == [made.playlist_id]
    assert [e.action for e in entries(db, action_prefix="library.")] == [
        "library.add", "library.add", "library.add", "library.playlist"]  # fmt: skip
