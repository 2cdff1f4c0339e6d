"""The login check behind Gradio's login page, with qa.access.users' rate limit per user and client.

Gradio calls the check with the username and password only; a small ASGI middleware records the
client address of each request in a context variable, so the check knows who is knocking::

    options = {"auth": login_check(db_path), "app_kwargs": {"middleware": [client_middleware()]}}

The client address is the connection's; behind a reverse proxy, the address the proxies
named in ``trusted_proxies`` forward (``ui.guard.trust_proxies``), never a header anyone else
sends. The check runs off the event loop, at most :data:`LOGIN_THREADS` at a time, so a flood of
logins (each a deliberately slow password hash) cannot stall other users' requests; the limits
(per user and client, per client, per user: :func:`qa.access.accounts.guarded_login`) refuse
without hashing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import anyio
from starlette.middleware import Middleware

from qa.access.accounts import guarded_login
from qa.access.users import LOGIN_LOCKOUT, LOGIN_MAX_FAILURES, LOGIN_WINDOW
from qa.db import open_db

__all__ = ["AUTH_MESSAGE", "ClientAddressMiddleware", "client_middleware", "login_check"]

logger = logging.getLogger(__name__)

_CLIENT: ContextVar[str] = ContextVar("callqa_client", default="unknown")


def _minutes(delta: Any) -> int:
    return int(delta.total_seconds() // 60)


AUTH_MESSAGE = (
    "Call QA review: log in with the account an admin gave you (qa users). "
    f"After {LOGIN_MAX_FAILURES} wrong passwords within {_minutes(LOGIN_WINDOW)} minutes, the "
    f"account is locked on this computer for {_minutes(LOGIN_LOCKOUT)} minutes: every login "
    "is refused meanwhile, even with the right password. Wait, or ask an admin."
)


class ClientAddressMiddleware:
    """Pure ASGI middleware: the request's client address, for the login check."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _CLIENT.set(str(client[0]) if client else "unknown")
        try:
            await self.app(scope, receive, send)
        finally:
            _CLIENT.reset(token)


def client_middleware() -> Middleware:
    """The middleware entry for ``Blocks.launch(app_kwargs={"middleware": [...]})``."""
    return Middleware(ClientAddressMiddleware)


#: Password checks running at once (each takes ~50 ms and 16 MiB of scrypt): one, so a flood
#: holds at most one core and the event loop keeps the others.
LOGIN_THREADS = 1


def login_check(db_path: str | Path) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's ``auth`` callable: the password check with the rate limits, in a worker thread
    (Gradio awaits a coroutine function; a plain one would run on the event loop)."""
    db_path = Path(db_path).resolve()
    limiter = anyio.CapacityLimiter(LOGIN_THREADS)

    def check(username: str, password: str, client: str) -> bool:
        db = open_db(db_path)
        try:
            attempt = guarded_login(db, username, password, client)
        finally:
            db.close()
        if attempt.locked_until is not None:
            logger.warning(
                "login for %r from %s locked until %s",
                username,
                client,
                attempt.locked_until.isoformat(timespec="seconds"),
            )
        return attempt.user is not None

    async def check_login(username: str, password: str) -> bool:
        client = _CLIENT.get()  # read here: the context of this request
        return await anyio.to_thread.run_sync(check, username, password, client, limiter=limiter)

    return check_login
