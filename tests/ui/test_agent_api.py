"""An agent calling the review app's Gradio API directly, over HTTP with their login cookie, never
gets another agent's call: the server checks every request, whatever the page offered.

The app is served in this process (tests/gradio_api.py) over tests/review_store.py's
store; bob is an agent linked to 1002 (the complaint call), Alice's good call is not his. The
requests are what the browser sends: ``/login``, then ``/gradio_api/queue/join`` with the event's
function index, its inputs and its event data, and the answer read from the event stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_api import call_event, fn_index, served
from review_store import build_review_store

from qa.access.agent_links import link_agent
from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db

GOOD, COMPLAINT = "1763651705.11", "1763655760.42"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    db_path = build_review_store(tmp_path_factory.mktemp("agent-api"))
    db = open_db(db_path)
    add_user(db, "bob", PASSWORD, Role.AGENT)
    link_agent(db, "bob", "1002")
    db.close()
    with served(db_path) as app:
        yield app


def _select(call_id: str) -> dict:
    """A table row selection as Gradio's Dataframe sends it, naming ``call_id`` in the row."""
    return {"index": [0, 7], "value": call_id, "row_value": ["", "", "", "", "", "", "", call_id],
            "col_value": [call_id], "selected": True}  # fmt: skip


def test_an_agent_gets_their_own_call_and_is_refused_anothers_through_the_api(app) -> None:
    blocks, url = app
    with httpx.Client(timeout=60) as client:
        login = client.post(f"{url}login", data={"username": "bob", "password": PASSWORD})
        assert login.status_code == 200, login.text
        open_own = fn_index(blocks, "ui.my_calls", "on_select")
        mine = call_event(client, url, open_own, [], _select(COMPLAINT))
        assert mine["success"] is True
        title = mine["output"]["data"][0]
        assert COMPLAINT in title and "5552223333" not in title  # the caller's number masked
        theirs = call_event(client, url, open_own, [], _select(GOOD))
        assert theirs["success"] is False
        assert f"call '{GOOD}' is not one of your calls" in json.dumps(theirs)
        assert "Thank you for calling Acme" not in json.dumps(theirs)
        # The staff Calls tab's handler refuses an agent, even for their own call.
        staff_open = fn_index(blocks, "ui.calls", "on_select")
        staff = call_event(client, url, staff_open, [], {**_select(GOOD), "index": [0, 10],
                                                    "row_value": [""] * 10 + [GOOD]})  # fmt: skip
        assert staff["success"] is False and "bob (agent) may not open calls" in json.dumps(staff)
