"""The review app under attack, through its real HTTP API (``qa serve`` on a free port, no
browser): the login lock-out cannot be dodged with forged ``X-Forwarded-For`` headers, one
password sprayed over many usernames is stopped, a login flood is refused early while other
users go on being served, revoked sessions (password or role changed, account disabled or
deleted) are refused, and another origin cannot call the API with a user's cookies.

The flood's effect on other users' latency is measured by scripts/bench_login_flood.py
(docs/benchmarks.md), not asserted here."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from browser import serving
from records_store import build_records_store

from qa.access.accounts import (
    CLIENT_MAX_FAILURES,
    delete_user,
    disable_user,
    enable_user,
    set_role,
)
from qa.access.roles import Role
from qa.access.users import LOGIN_MAX_FAILURES, add_user, get_user, set_password
from qa.db import open_db
from ui import complaints
from ui.context import AppContext
from ui.guard import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, SessionGuardMiddleware

PASSWORD = "correct horse battery"
STAMP_WAIT = 2.2  # the guard reads an account again after 2 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("security") / "qa.db"
    open_db(db).close()
    with serving(db) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_earlier_failures(request):
    """Every test of the server starts with no failed logins on record (they share one client
    address); the others do not start it."""
    if "server" in request.fixturenames:
        db_path = request.getfixturevalue("server").db_path
        with sqlite3.connect(db_path) as conn:
            conn.execute("delete from login_failures")


def _user(server, name: str, role: Role = Role.REVIEWER) -> str:
    db = open_db(server.db_path)
    try:
        add_user(db, name, PASSWORD, role)
    finally:
        db.close()
    return name


def _login(server, username: str, password: str, **headers: str) -> httpx.Client | None:
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post(
        "login", data={"username": username, "password": password}, headers=headers
    )
    if response.status_code != 200:
        client.close()
        return None
    return client


def _change(server, action, *args) -> None:
    db = open_db(server.db_path)
    try:
        action(db, *args)
    finally:
        db.close()


def test_the_lockout_cannot_be_dodged_with_forwarded_headers(server):
    name = _user(server, "forged")
    for attempt in range(LOGIN_MAX_FAILURES):
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}", "X-Real-IP": f"198.51.100.{attempt}"}
        assert _login(server, name, "wrong password", **forged) is None
    # The right password, from yet another "address": still the same client, still locked.
    assert _login(server, name, PASSWORD, **{"X-Forwarded-For": "192.0.2.77"}) is None


def test_one_password_sprayed_over_many_usernames_is_stopped(server):
    name = _user(server, "sprayed")
    for number in range(CLIENT_MAX_FAILURES):
        assert _login(server, f"guess{number}", PASSWORD) is None
    assert _login(server, name, PASSWORD) is None  # this client is refused, whoever it names


def test_a_login_flood_is_refused_while_other_users_are_served(server):
    name = _user(server, "steady")
    steady = _login(server, name, PASSWORD)
    assert steady is not None

    def knock(number: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            data = {"username": f"flood{number % 7}", "password": "wrong"}
            return client.post("login", data=data).status_code

    with ThreadPoolExecutor(8) as pool:
        flood = pool.map(knock, range(60))
        served = [steady.get("config").status_code for _ in range(10)]
        statuses = list(flood)
    assert served == [200] * 10
    assert statuses == [400] * 60
    with sqlite3.connect(server.db_path) as conn:
        hashed = conn.execute("select count(*) from login_failures").fetchone()[0]
    assert hashed < 60  # once the client is over its limit, attempts cost no password check
    steady.close()


@pytest.mark.parametrize(
    "revoke",
    [
        lambda db, name: set_password(db, name, "another good password"),
        lambda db, name: set_role(db, name, Role.SUPERVISOR),
        disable_user,
        delete_user,
    ],
    ids=["password changed", "role changed", "disabled", "deleted"],
)
def test_a_revoked_session_is_refused(server, revoke):
    name = _user(server, f"revoked{int(time.time() * 1000) % 100000}")
    session = _login(server, name, PASSWORD)
    assert session is not None
    assert session.get("config").status_code == 200
    _change(server, revoke, name)
    time.sleep(STAMP_WAIT)
    assert session.get("config").status_code == 401
    session.close()


def test_a_disabled_user_cannot_log_in_until_enabled(server):
    name = _user(server, "paused")
    _change(server, disable_user, name)
    assert _login(server, name, PASSWORD) is None
    _change(server, enable_user, name)
    assert _login(server, name, PASSWORD) is not None


def test_another_origin_cannot_call_the_api_with_the_users_cookies(server):
    name = _user(server, "origin")
    session = _login(server, name, PASSWORD)
    assert session is not None
    own = server.url.rstrip("/")
    assert session.get("config", headers={"Origin": own}).status_code == 200
    for other in ("http://127.0.0.1:1", "http://localhost:8080", "null", "https://evil.example"):
        assert session.get("config", headers={"Origin": other}).status_code == 403
        response = session.post("login", data={"username": name, "password": PASSWORD},
                                 headers={"Origin": other})  # fmt: skip
        assert response.status_code == 403
    session.close()


def test_sessions_end_when_idle_or_old(tmp_path):
    db = tmp_path / "qa.db"
    store = open_db(db)
    add_user(store, "lin", PASSWORD, Role.REVIEWER)
    store.close()
    guard = SessionGuardMiddleware(app=None, db_path=db)
    tokens = {"idle": "lin", "busy": "lin"}
    guard.check(tokens, "idle", now=1000.0)
    guard.check(tokens, "busy", now=1000.0)
    guard.check(tokens, "idle", now=1000.0 + IDLE_TIMEOUT + 1)
    assert "idle" not in tokens
    now = 1000.0
    while now <= 1000.0 + ABSOLUTE_TIMEOUT:  # used all along, never idle
        now += IDLE_TIMEOUT / 2
        guard.check(tokens, "busy", now=now)
    assert "busy" not in tokens


def test_a_new_store_is_readable_by_its_owner_only(tmp_path):
    open_db(tmp_path / "qa.db").close()
    assert (Path(tmp_path / "qa.db").stat().st_mode & 0o777) == 0o600


def test_an_auditors_unmasked_export_is_readable_by_the_app_user_only(tmp_path):
    db_path = build_records_store(tmp_path, reviewed=True)
    db = open_db(db_path)
    add_user(db, "aude", PASSWORD, Role.AUDITOR)
    auditor = get_user(db, "aude")
    db.close()
    audio = tmp_path / "audio"
    audio.mkdir(mode=0o700)
    ctx = AppContext(db_path=db_path, audio_dir=audio)
    _, download = complaints.dnd_list(ctx, auditor)
    path = Path(download.value["path"])
    assert "4155550109" in path.read_text(encoding="utf-8")  # unmasked: hence the mode
    assert path.stat().st_mode & 0o777 == 0o600  # Gradio's cached copy keeps the mode
    (written,) = (audio / "exports").glob("dnd-aude-*.csv")
    assert written.stat().st_mode & 0o777 == 0o600
    assert (audio / "exports").stat().st_mode & 0o777 == 0o700
