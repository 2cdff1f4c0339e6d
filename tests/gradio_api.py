"""Calling the review app's Gradio API the way a browser does, for tests that check the server
itself (authorization, file links) without a page: the app served in this process on a free port
(``ui.app.serve(block=False)``), ``/login`` for the session cookie, then
``/gradio_api/queue/join`` with an event's function index, inputs and event data, and the answer
read from the event stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from browser import free_port

from ui.app import serve


@contextmanager
def served(db_path: Path) -> Iterator[tuple[Any, str]]:
    """The app over ``db_path``, served in this process: its Blocks and its base URL."""
    port = free_port()
    blocks = serve(db_path, port=port, block=False)
    try:
        yield blocks, f"http://127.0.0.1:{port}/"
    finally:
        blocks.close()


def fn_index(blocks: Any, module: str, name: str) -> int:
    """The index of the event whose handler is ``name`` defined in ``module``'s build_tab."""
    for index, fn in blocks.fns.items():
        handler = getattr(fn, "fn", None)
        if handler is not None and handler.__module__ == module and handler.__name__ == name:
            return index
    raise AssertionError(f"no event handled by {module}.{name}")


def logged_in(url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client holding ``username``'s session cookie (close it when done)."""
    client = httpx.Client(timeout=60)
    login = client.post(f"{url}login", data={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return client


def call_event(
    client: httpx.Client,
    url: str,
    index: int,
    data: list | None = None,
    event_data: Any = None,
    session: str | None = None,
) -> dict:
    """Send one event as the browser does and return the final message of its stream; events
    sent with the same ``session`` share the page's state (gr.State), as one open page does."""
    session = session or uuid.uuid4().hex
    joined = client.post(f"{url}gradio_api/queue/join", json={
        "data": data or [], "event_data": event_data, "fn_index": index, "trigger_id": None,
        "session_hash": session,
    })  # fmt: skip
    assert joined.status_code == 200, joined.text
    with client.stream("GET", f"{url}gradio_api/queue/data",
                       params={"session_hash": session}) as stream:  # fmt: skip
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event stream ended without a result")
