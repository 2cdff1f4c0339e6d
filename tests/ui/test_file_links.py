"""Gradio's cached file links over the real HTTP API (the app served on a free port, no browser):
a file the app sent one session (a call's audio, an auditor's unmasked export) cannot be fetched
by another logged-in user who knows its link, nor by anyone logged out; an export is deleted once
downloaded, the audio stays for the player. Both tests fail without ui.file_access.
Requests are the browser's: ``/login``, ``/gradio_api/queue/join``, the event stream, the link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_api import call_event, fn_index, logged_in, served
from records_store import build_records_store
from review_store import GOOD_ID, build_review_store

from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db
from ui.calls import HEADERS

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    db_path = build_records_store(tmp_path_factory.mktemp("file-links"), reviewed=True)
    db = open_db(db_path)
    add_user(db, "aude", PASSWORD, Role.AUDITOR)
    add_user(db, "otto", PASSWORD, Role.AUDITOR)
    db.close()
    with served(db_path) as app:
        yield app


@pytest.fixture(scope="module")
def calls_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    db_path = build_review_store(tmp_path_factory.mktemp("audio-links"))
    db = open_db(db_path)
    add_user(db, "rita", PASSWORD, Role.REVIEWER)
    add_user(db, "rob", PASSWORD, Role.REVIEWER)
    db.close()
    with served(db_path) as app:
        yield app


def _file_links(value: Any) -> list[dict]:
    """Every file Gradio hands the browser in an event's output."""
    if isinstance(value, dict):
        own = [value] if "/gradio_api/file=" in str(value.get("url", "")) else []
        return own + [link for inner in value.values() for link in _file_links(inner)]
    if isinstance(value, list):
        return [link for inner in value for link in _file_links(inner)]
    return []


def test_a_calls_audio_link_works_only_for_the_session_that_opened_it(calls_app) -> None:
    blocks, url = calls_app
    open_call = fn_index(blocks, "ui.calls", "on_select")
    row = [""] * len(HEADERS)
    row[HEADERS.index("Call ID")] = GOOD_ID
    selection = {"index": [0, HEADERS.index("Call ID")], "value": GOOD_ID, "row_value": row,
                 "col_value": [GOOD_ID], "selected": True}  # fmt: skip
    rita, rob = logged_in(url, "rita", PASSWORD), logged_in(url, "rob", PASSWORD)
    try:
        opened = call_event(rita, url, open_call, event_data=selection)
        assert opened["success"] is True, opened
        (audio,) = [link for link in _file_links(opened["output"]) if link["path"].endswith(".wav")]
        heard = rita.get(audio["url"])
        assert heard.status_code == 200 and heard.content[:4] == b"RIFF"
        assert rita.get(audio["url"]).status_code == 200  # audio stays: the player seeks
        assert rob.get(audio["url"]).status_code == 404  # never sent to rob's session
        assert rob.get(audio["url"].replace("file=", "file/")).status_code == 404
    finally:
        rita.close()
        rob.close()


def test_an_export_link_works_for_its_session_only_and_once(app) -> None:
    blocks, url = app
    export = fn_index(blocks, "ui.complaints", "on_dnd")
    aude, otto, anonymous = (
        logged_in(url, "aude", PASSWORD),
        logged_in(url, "otto", PASSWORD),
        httpx.Client(timeout=60),
    )
    try:
        message = call_event(aude, url, export)
        assert message["success"] is True, message
        download = message["output"]["data"][1]["value"]
        link, cached = download["url"], Path(download["path"])
        assert "/gradio_api/file=" in link and cached.is_file()
        for stranger in (otto, anonymous):
            refused = stranger.get(link)
            assert refused.status_code in (401, 403, 404), refused.status_code
            assert "4155550109" not in refused.text  # the unmasked number stays private
        assert cached.is_file()  # a refused request does not spend it
        fetched = aude.get(link)
        assert fetched.status_code == 200 and "4155550109" in fetched.text
        assert not cached.exists()  # deleted once downloaded
        assert aude.get(link).status_code == 404
        # otto's own export is his to fetch
        theirs = call_event(otto, url, export)["output"]["data"][1]["value"]
        assert theirs["path"] != download["path"]
        assert aude.get(theirs["url"]).status_code == 404
        assert otto.get(theirs["url"]).status_code == 200
    finally:
        for client in (aude, otto, anonymous):
            client.close()
