"""The review app's door: who is knocking, from where, and whether their session may go on.

Two pure ASGI middlewares, added by :func:`guard_middleware` in ``ui.app.launch_options``:

- :class:`OriginCheckMiddleware`: a request that carries an ``Origin`` (every browser sends one
  on a cross-site fetch or form post) is refused unless the origin is the app's own (the
  ``Host`` it was sent to) or one configured. Another page the user has open — on another
  localhost port too — cannot call the API with the user's cookies.
- :class:`SessionGuardMiddleware`: Gradio gives a logged-in browser a token cookie and keeps
  ``token → username`` for ever. Each token is bound here, when first seen, to the account as it
  was (:func:`qa.access.accounts.account_stamp`: role and password digest) and ended — removed
  from Gradio's table, so the request arrives logged out — after :data:`IDLE_TIMEOUT` without a
  request, :data:`ABSOLUTE_TIMEOUT` after it began, or as soon as the password or role changes
  or the account is disabled or deleted.

The client address the login limits key on is the connection's. ``X-Forwarded-For`` counts only
from the proxies named in ``trusted_proxies`` (:func:`trust_proxies`, applied before the server
starts); uvicorn otherwise trusts it from 127.0.0.1, where any local program could forge it::

    trust_proxies(["10.0.0.2"])             # before launch: FORWARDED_ALLOW_IPS
    app.launch(..., app_kwargs={"middleware": guard_middleware(db_path)})
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from starlette.middleware import Middleware

from qa.access.accounts import account_stamp

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "OriginCheckMiddleware",
    "SessionGuardMiddleware",
    "guard_middleware",
    "trust_proxies",
]

logger = logging.getLogger(__name__)

#: A session ends after this long without a request (seconds).
IDLE_TIMEOUT = 30 * 60.0
#: ... and this long after it began, however busy (seconds).
ABSOLUTE_TIMEOUT = 12 * 3600.0
# How long an account's stamp is trusted before the store is read again (seconds): revoking
# access takes effect within this.
_STAMP_SECONDS = 2.0


def trust_proxies(proxies: Sequence[str]) -> None:
    """Trust ``X-Forwarded-For`` only from these addresses (none: the connection's address is
    the client's). Sets uvicorn's ``FORWARDED_ALLOW_IPS`` for the server about to start."""
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(proxies)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _refuse(send: Any, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class OriginCheckMiddleware:
    """Refuse requests whose ``Origin`` is neither the app's own nor in ``allowed``."""

    def __init__(self, app: Any, allowed: Sequence[str] = ()) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/").lower() for origin in allowed}

    def permits(self, scope: dict) -> bool:
        origin = _header(scope, b"origin")
        if origin is None:
            return True  # not a browser's cross-site request (same-origin GETs send none)
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        host = (_header(scope, b"host") or "").lower()
        parts = urlsplit(origin)
        return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket") and not self.permits(scope):
            logger.warning(
                "refused %s %s from origin %s", scope.get("method"), scope.get("path"),
                _header(scope, b"origin"),
            )  # fmt: skip
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _refuse(send, 403, "cross-origin request refused")
            return
        await self.app(scope, receive, send)


@dataclass
class _Session:
    username: str
    stamp: str
    began: float
    last_seen: float


class SessionGuardMiddleware:
    """End Gradio sessions that are idle, too old, or of an account that changed."""

    def __init__(self, app: Any, db_path: str | Path) -> None:
        self.app = app
        self.db_path = Path(db_path)
        self.sessions: dict[str, _Session] = {}
        self._stamps: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._db: sqlite_utils.Database | None = None

    def stamp(self, username: str, now: float) -> str | None:
        cached = self._stamps.get(username)
        if cached is not None and now - cached[0] < _STAMP_SECONDS:
            return cached[1]
        with self._lock:
            if self._db is None:
                # One read-only connection, kept: a request never waits on migrations or on a
                # writer (WAL readers do not block).
                conn = sqlite3.connect(
                    f"{self.db_path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=5,
                    check_same_thread=False,
                )
                self._db = sqlite_utils.Database(conn)
            stamp = account_stamp(self._db, username)
        self._stamps[username] = (now, stamp)
        return stamp

    def forget_account(self, username: str) -> None:
        """Read the account again on its next request (after a change made in this process)."""
        self._stamps.pop(username, None)

    def check(self, tokens: dict[str, str], token: str, now: float) -> None:
        """Remove ``token`` from Gradio's table when its session must end."""
        username = tokens.get(token)
        if username is None:
            return
        stamp = self.stamp(username, now)
        with self._lock:
            session = self.sessions.get(token)
            if session is None:
                if stamp is None:
                    why = "the account is disabled or deleted"
                else:
                    self.sessions[token] = _Session(username, stamp, now, now)
                    return
            elif stamp != session.stamp:
                why = "the password, role or account changed"
            elif now - session.last_seen > IDLE_TIMEOUT:
                why = f"idle for more than {IDLE_TIMEOUT / 60:.0f} minutes"
            elif now - session.began > ABSOLUTE_TIMEOUT:
                why = f"older than {ABSOLUTE_TIMEOUT / 3600:.0f} hours"
            else:
                session.last_seen = now
                return
            self.sessions.pop(token, None)
            tokens.pop(token, None)
        logger.info("session of %s ended: %s", username, why)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            tokens = getattr(scope.get("app"), "tokens", None)
            cookie = _header(scope, b"cookie")
            if isinstance(tokens, dict) and cookie:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(cookie)
                except Exception:  # a malformed cookie header: Gradio finds no token either
                    jar = SimpleCookie()
                now = time.time()
                for name, morsel in jar.items():
                    if name.startswith("access-token"):
                        self.check(tokens, morsel.value, now)
        await self.app(scope, receive, send)


def guard_middleware(db_path: str | Path, allowed_origins: Sequence[str] = ()) -> list[Middleware]:
    """The middleware entries for ``Blocks.launch(app_kwargs={"middleware": [...]})``."""
    return [
        Middleware(OriginCheckMiddleware, allowed=tuple(allowed_origins)),
        Middleware(SessionGuardMiddleware, db_path=db_path),
    ]
