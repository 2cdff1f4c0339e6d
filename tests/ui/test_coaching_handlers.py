"""The Coaching tab's handlers called directly: a supervisor assigns a task with moments typed as
``CALL_ID m:ss note``, the agent sees only their own tasks and acknowledges, the supervisor
completes it; a reviewer and another agent are refused on the server."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from records_store import build_records_store

from qa.access.agent_links import link_agent
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.db import open_db
from ui import coaching
from ui.context import AppContext

SAM, RITA = User("sam", Role.SUPERVISOR), User("rita", Role.REVIEWER)
BOB, ALICE = User("bob", Role.AGENT), User("alice", Role.AGENT)


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    db_path = build_records_store(tmp_path)
    db = open_db(db_path)
    for person in (BOB, ALICE):
        add_user(db, person.username, "a long enough password", person.role)
    link_agent(db, "bob", "1002")
    link_agent(db, "alice", "1001")
    db.close()
    return AppContext(db_path=db_path, audio_dir=tmp_path)


def test_assign_acknowledge_and_complete_through_the_tab(ctx) -> None:
    denied, body, table, lead, agents, _, _ = coaching.load(ctx, SAM)
    assert denied == "" and lead.visible is True and ("Bob Jones", "1002") in agents.choices
    with pytest.raises(gr.Error, match="Moments, line 1: write CALL_ID m:ss note"):
        coaching.assign(ctx, SAM, "1002", "Greet", "2026-12-04", "c6-no-greeting-en soon")
    table, message = coaching.assign(ctx, SAM, "1002", "Greet with the company name",
                                     "2026-12-04", "c6-no-greeting-en 0:01 no greeting\n"
                                     "c2-no-id-en 0:09 cancelled first")  # fmt: skip
    assert message == "Assigned task #1 to 1002."
    assert "c6-no-greeting-en 0:01 no greeting" in table["Moments"][0]
    _, _, mine, lead, *_ = coaching.load(ctx, BOB)
    assert list(mine["#"]) == [1] and lead.visible is False
    _, _, theirs, *_ = coaching.load(ctx, ALICE)
    assert theirs.empty  # Alice sees none of Bob's tasks
    assert coaching.acknowledge(ctx, ALICE, 1) == [gr.skip()] * 2  # not hers: refused
    table, message = coaching.acknowledge(ctx, BOB, 1)
    assert message == "You acknowledged task #1." and list(table["Status"]) == ["acknowledged"]
    with pytest.raises(gr.Error, match=r"bob \(agent\) may not assign coaching"):
        coaching.complete(ctx, BOB, 1, "done")
    table, message = coaching.complete(ctx, SAM, 1, "better")
    assert list(table["Status"]) == ["done"]
    denied, body, *_ = coaching.load(ctx, RITA)
    assert "supervisors, admins and agents" in denied and body.visible is False
    with pytest.raises(gr.Error, match=r"rita \(reviewer\) may not assign coaching"):
        coaching.assign(ctx, RITA, "1002", "x", "", "c2-no-id-en 0:01")


def test_leads_keep_the_library_and_playlists(ctx) -> None:
    calls, lists, message = coaching.keep_call(ctx, SAM, "c1-good-en", "good", "greeting, id",
                                               "model opening", "")  # fmt: skip
    assert message == "Added c1-good-en to the library." and list(calls["Call ID"]) == [
        "c1-good-en"
    ]
    assert coaching.keep_call(ctx, SAM, "nope", "good", "x", "", "") == [gr.skip()] * 3
    calls, lists, message = coaching.make_playlist(ctx, SAM, "December", "c1-good-en", "")
    assert message == "Made playlist #1 December." and list(lists["Calls"]) == ["c1-good-en"]
    calls, _ = coaching.library_view(ctx, SAM, "billing")
    assert calls.empty
    for refused in (RITA, BOB):
        with pytest.raises(gr.Error, match="may not assign coaching"):
            coaching.library_view(ctx, refused, "")
