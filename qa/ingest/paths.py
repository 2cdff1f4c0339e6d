"""File names as the file system gives them: bytes, which need not be UTF-8.

On Linux a file name is any bytes but ``/`` and NUL. Python lists such a name as a ``str`` in
which each byte that is not UTF-8 becomes a lone surrogate (``\\udcff`` for byte ``0xff``,
PEP 383): that string opens the file again, but it cannot be written to SQLite, to pydantic JSON
or to a UTF-8 terminal. So a path keeps that form wherever a file is opened, and crosses each
boundary in one of two ways:

- stored (:func:`to_db` / :func:`from_db`): a name that is UTF-8 is stored as text, as before; any
  other is stored as a BLOB of its exact bytes, so it is found and opened again (lossless);
- shown (:func:`shown`, :func:`safe_text`): each byte that is not UTF-8 written ``\\xff``, in
  messages, reports, the dry run and the ledger's reasons (a person can read it; ``ls -b``
  writes it the same way).

Everything derived from a name (the uniqueid, the caller's number, the call id) is parsed from
its shown form, so no such value ever holds a surrogate::

    to_db("q-600-555\\udcff.wav")   # b"q-600-555\\xff.wav" (a BLOB)
    shown("q-600-555\\udcff.wav")   # "q-600-555\\\\xff.wav"
"""

from __future__ import annotations

import os

__all__ = ["from_db", "is_utf8", "safe_text", "shown", "to_db"]


def is_utf8(text: str) -> bool:
    """Whether ``text`` holds no lone surrogate (it can be written as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(path: str) -> str:
    """The name as a person reads it: bytes that are not UTF-8 written ``\\xNN``."""
    if is_utf8(path):
        return path
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def safe_text(text: str) -> str:
    """Any message that may quote a file name, made writable anywhere (surrogates escaped)."""
    if is_utf8(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def to_db(path: str) -> str | bytes:
    """The value stored for a path: the text itself, or its exact bytes when it is not UTF-8."""
    return path if is_utf8(path) else os.fsencode(path)


def from_db(value: str | bytes) -> str:
    """The path a stored value (:func:`to_db`) stands for."""
    return os.fsdecode(value) if isinstance(value, bytes) else value
