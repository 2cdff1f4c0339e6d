"""Flag decisions through the app's Gradio API, over HTTP with a login cookie (issue 17): a
reviewer's page opens the complaint call and submits a rejection of the machine's complaint flag,
which is stored; an agent sending the same Submit is refused by the server, whatever the page
offered, and nothing is stored.

The app is served in this process (tests/gradio_api.py) over tests/review_store.py's store. The
Submit event's inputs are sent as the browser sends them, in the event's own input order (a set of
components: the form's fields and the call's form state, which the server keeps per page).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from gradio_api import call_event, fn_index, logged_in, served
from review_store import build_review_store

from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db
from ui.calls import HEADERS

COMPLAINT = "1763655760.42"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, Any]]:
    db_path = build_review_store(tmp_path_factory.mktemp("flag-api"))
    db = open_db(db_path)
    add_user(db, "rita", PASSWORD, Role.REVIEWER)
    add_user(db, "bob", PASSWORD, Role.AGENT)
    db.close()
    with served(db_path) as (blocks, url):
        yield blocks, url, db_path


def _select(call_id: str) -> dict:
    """A Calls table row selection as Gradio's Dataframe sends it, naming ``call_id``."""
    column = HEADERS.index("Call ID")
    row = [""] * len(HEADERS)
    row[column] = call_id
    return {"index": [0, column], "value": call_id, "row_value": row,
            "col_value": [call_id], "selected": True}  # fmt: skip


def _submit_data(blocks: Any, index: int, rejected_note: str) -> list:
    """The Submit event's inputs: every item confirmed, the first flag row rejected."""
    data = []
    for block in blocks.fns[index].inputs:
        elem = getattr(block, "elem_id", None) or ""
        if elem.startswith("qa-decision-slot"):
            data.append("confirmed")
        elif elem == "qa-flag-slot0":
            data.append("rejected")
        elif elem == "qa-flagnote-slot0":
            data.append(rejected_note)
        elif elem.startswith(("qa-flag-slot", "qa-verdict-slot")):
            data.append(None)
        else:  # comments, and the form state (kept by the server)
            data.append("" if elem else None)
    return data


def _submit_index(blocks: Any) -> int:
    return fn_index(blocks, "ui.review_panel", "on_submit")


def test_a_reviewer_rejects_a_flag_through_the_api_and_an_agent_is_refused(app) -> None:
    blocks, url, db_path = app
    submit = _submit_index(blocks)
    with contextlib.closing(logged_in(url, "bob", PASSWORD)) as client:
        refused = call_event(client, url, submit, _submit_data(blocks, submit, "not mine"))
        assert refused["success"] is False
        assert "may not" in json.dumps(refused)
    with contextlib.closing(logged_in(url, "rita", PASSWORD)) as client:
        page = uuid.uuid4().hex
        opened = call_event(client, url, fn_index(blocks, "ui.calls", "on_select"), [],
                            _select(COMPLAINT), session=page)  # fmt: skip
        assert opened["success"] is True, opened
        done = call_event(client, url, submit, _submit_data(blocks, submit, "over the API"),
                          session=page)  # fmt: skip
        assert done["success"] is True, done
    db = open_db(db_path)
    try:
        stored = db.execute("select call_id, flag_id, decision, comment, decided_by "
                            "from review_flags").fetchall()  # fmt: skip
    finally:
        db.close()
    assert stored == [(COMPLAINT, "complaint", "rejected", "over the API", "rita")]
