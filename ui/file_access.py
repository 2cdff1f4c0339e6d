"""Gradio's file links for the session that received them only, and exports gone once downloaded.

Gradio serves every file it has cached (a call's audio, a CSV export) at
``/gradio_api/file=PATH`` to any logged-in user who knows the path. :class:`FileAccessMiddleware`
(added by :func:`file_access_middleware` in ``ui.app.launch_options``) reads what the app sends
each session — every ``"path": "…"`` and ``/gradio_api/file=…`` in a response body, which is how
Gradio hands a file to the browser — and grants those paths to that session's token only. A file
request for a path its session was not sent is answered 404, as if there were no such file: a
reviewer cannot fetch a call's audio another user opened, nor an auditor's unmasked export.

An export (a ``.csv`` file) is deleted as soon as it has been downloaded once in full, and one
not downloaded is deleted :data:`EXPORT_TTL` after it was handed out (checked on later requests)::

    app.launch(..., app_kwargs={"middleware": [file_access_middleware()]})
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.middleware import Middleware

__all__ = ["EXPORT_TTL", "FileAccessMiddleware", "file_access_middleware"]

logger = logging.getLogger(__name__)

#: An export not downloaded is deleted this long after it was handed out (seconds).
EXPORT_TTL = 600.0
#: The file routes (``/gradio_api/file=PATH`` and the older ``/gradio_api/file/PATH``).
_FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")
_PATH_FIELD = re.compile(rb'"path"\s*:\s*("(?:[^"\\]|\\.)*")')
_FILE_URL = re.compile(rb'/gradio_api/file=([^"\\\s]+)')
# A path split between two chunks of a stream is found in the tail kept from the first.
_CARRY = 4096


def _token(scope: dict) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            for name, morsel in jar.items():
                if name.startswith("access-token"):
                    return str(morsel.value)
    return None


def _normal(path: str) -> str:
    return os.path.normpath(path)


def _is_export(path: str) -> bool:
    return path.lower().endswith(".csv")


class FileAccessMiddleware:
    """Serve a cached file only to the session it was sent to; delete exports once fetched."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.granted: dict[str, set[str]] = {}
        self.exports: dict[str, float] = {}  # cached export → when it was handed out
        self._lock = threading.Lock()

    def grant(self, token: str, body: bytes) -> None:
        found = set()
        for match in _PATH_FIELD.finditer(body):
            try:
                found.add(_normal(json.loads(match.group(1))))
            except ValueError:
                continue
        for match in _FILE_URL.finditer(body):
            found.add(_normal(unquote(match.group(1).decode("utf-8", "replace"))))
        found = {path for path in found if path.startswith("/")}
        if not found:
            return
        now = time.time()
        with self._lock:
            self.granted.setdefault(token, set()).update(found)
            for path in found:
                if _is_export(path):
                    self.exports.setdefault(path, now)

    def permits(self, token: str | None, path: str) -> bool:
        with self._lock:
            return token is not None and path in self.granted.get(token, ())

    def forget(self, path: str) -> None:
        """Delete an export's cached copy and every session's grant of it."""
        with self._lock:
            self.exports.pop(path, None)
            for paths in self.granted.values():
                paths.discard(path)
        Path(path).unlink(missing_ok=True)
        logger.info("export %s deleted", path)

    def sweep(self, tokens: Any) -> None:
        """Delete exports older than :data:`EXPORT_TTL`; drop the grants of ended sessions."""
        cutoff = time.time() - EXPORT_TTL
        stale = [path for path, when in list(self.exports.items()) if when < cutoff]
        for path in stale:
            self.forget(path)
        if isinstance(tokens, dict):
            with self._lock:
                for token in [t for t in self.granted if t not in tokens]:
                    del self.granted[token]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        self.sweep(getattr(scope.get("app"), "tokens", None))
        token = _token(scope)
        route = str(scope.get("path", ""))
        served = next((route[len(r) :] for r in _FILE_ROUTES if route.startswith(r)), None)
        if served is not None:
            await self.serve_file(scope, receive, send, token, _normal(unquote(served)))
            return
        if token is None:
            await self.app(scope, receive, send)
            return
        carry = b""

        async def scanning_send(message: dict) -> None:
            nonlocal carry
            if message.get("type") == "http.response.body":
                chunk = carry + message.get("body", b"")
                self.grant(token, chunk)
                carry = chunk[-_CARRY:]
            await send(message)

        await self.app(scope, receive, scanning_send)

    async def serve_file(
        self, scope: dict, receive: Any, send: Any, token: str | None, path: str
    ) -> None:
        if not self.permits(token, path):
            logger.warning("refused file %s: not sent to this session", path)
            body = b"Not found"
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        status = {"code": 0}
        spend = _is_export(path) and scope.get("method") == "GET"

        async def watching_send(message: dict) -> None:
            if message.get("type") == "http.response.start":
                status["code"] = message.get("status", 0)
            last = message.get("type") == "http.response.body" and not message.get("more_body")
            if last and spend and status["code"] == 200:
                # the whole file has been read: delete it before the last bytes go out, so a
                # client that has its download never finds the file still there
                self.forget(path)
            await send(message)

        await self.app(scope, receive, watching_send)


def file_access_middleware() -> list[Middleware]:
    """The middleware entry for ``Blocks.launch(app_kwargs={"middleware": [...]})``."""
    return [Middleware(FileAccessMiddleware)]
