"""No personal number reaches a reviewer, in any string of any response: the Calls tab's list
and call view are scanned whole, for a call whose recording is gone and whose failure message
(as the run writes it) holds the recording's path — and so the caller's number. An auditor gets
the number: the scan can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from records_store import PASSWORD
from review_store import build_review_store

from qa.access.roles import Role
from qa.access.users import add_user, list_users
from qa.db import open_db
from ui import calls
from ui.context import AppContext

CALL = "1763651705.11"
NUMBERS = ("4155550134", "5552223333", "13812345678")  # the callers of the review store


def _strings(value: object) -> list[str]:
    """Every string in a handler's response (HTML, notes, tables, nested values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, pd.DataFrame):
        return [value.to_csv()]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return [str(value)] if value is not None else []


def _leaks(response: object) -> list[str]:
    digits = [re.sub(r"\D", "", text) for text in _strings(response)]
    return [n for n in NUMBERS if any(n in text for text in digits)]


@pytest.fixture
def broken_store(tmp_path: Path) -> AppContext:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    add_user(db, "rita", PASSWORD, Role.REVIEWER)
    add_user(db, "aude", PASSWORD, Role.AUDITOR)
    root, recordings = db.execute(
        "select store_root, recordings from calls where call_id = ?", [CALL]
    ).fetchone()
    first = Path(root) / recordings.split('"')[1]
    first.unlink()  # deleted, or the NAS not mounted
    error = f"transcribe: {first}: no such file; check the store path and the CDR"
    with db.conn:
        db.conn.execute("update calls set error = ? where call_id = ?", [error, CALL])
    db.close()
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio)


def _people(ctx: AppContext) -> dict[str, object]:
    db = open_db(ctx.db_path)
    try:
        return {user.username: user for user in list_users(db)}
    finally:
        db.close()


def test_a_reviewer_gets_no_personal_number_in_any_string(broken_store):
    people = _people(broken_store)
    reviewer = people["rita"]
    responses = [
        calls.load_page(broken_store, reviewer),
        calls.open_call(broken_store, reviewer, CALL),
    ]
    note = responses[1][2]
    assert "No audio" in note and "q-600-···0134-20261120" in note  # the path, masked
    assert "···0134" in responses[1][0]  # the failure message too
    assert _leaks(responses) == []


def test_an_auditor_sees_the_numbers_the_reviewer_does_not(broken_store):
    auditor = _people(broken_store)["aude"]
    assert "4155550134" in _leaks(calls.open_call(broken_store, auditor, CALL))
