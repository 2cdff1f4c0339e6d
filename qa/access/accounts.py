"""Taking access away: disabling, enabling and deleting users, changing their role, and the
login limits that key on what an attacker cannot choose.

Revoking access must reach sessions already open, so a session is bound to the account as it
was when it began (:func:`account_stamp`: the role and a digest of the password hash): a changed
password or role, a disabled or deleted account, each changes the stamp, and the review app
(:mod:`ui.guard`) ends every session whose stamp no longer matches::

    disable_user(db, "lin")                 # refused at login; open sessions end
    set_role(db, "lin", Role.SUPERVISOR)    # open sessions end: log in again
    attempt = guarded_login(db, "lin", password, client="10.0.0.7")

Login limits (:func:`guarded_login`), on top of :func:`qa.access.users.login`'s lock of one
username from one client: a client address that failed :data:`CLIENT_MAX_FAILURES` times within
the window, whatever the usernames (one password tried across many), is refused; and so is a
username that failed :data:`USER_MAX_FAILURES` times from any clients. Refused attempts cost no
password hashing. The client address is the connection's, or what a configured trusted proxy
says (``ui.guard``): never a header a client may set.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from qa.access import audit_log
from qa.access.roles import Role
from qa.access.users import (
    LOGIN_LOCKOUT,
    LOGIN_WINDOW,
    LoginAttempt,
    UnknownUserError,
    get_user,
    login,
)
from qa.sql import table, utcnow

__all__ = [
    "CLIENT_MAX_FAILURES",
    "USER_MAX_FAILURES",
    "account_stamp",
    "delete_user",
    "disable_user",
    "enable_user",
    "guarded_login",
    "is_disabled",
    "set_role",
]

logger = logging.getLogger(__name__)

#: Wrong passwords from one client address (any usernames) within the window before it is
#: refused: a password sprayed across usernames is stopped here.
CLIENT_MAX_FAILURES = 20
#: Wrong passwords for one username (from any clients) within the window before it is refused.
USER_MAX_FAILURES = 50
_CLI = "(qa users)"


def _require(db: sqlite_utils.Database, username: str) -> None:
    if get_user(db, username) is None:
        raise UnknownUserError(f"no user {username!r}: list users with `qa users list`")


def _set(
    db: sqlite_utils.Database,
    username: str,
    values: dict[str, object],
    action: str,
    by: str | None,
    after: str | None = None,
) -> None:
    _require(db, username)
    with db.conn:
        table(db, "users").update(username, values)
        audit_log.record(db, by or _CLI, action, target=username, after=after)
    logger.info("%s %s", action, username)


def disable_user(db: sqlite_utils.Database, username: str, *, by: str | None = None) -> None:
    """Refuse ``username`` at login and end their open sessions (the account stays, with its
    reviews). Raises :class:`UnknownUserError`."""
    _set(db, username, {"disabled_at": utcnow()}, "user.disable", by)


def enable_user(db: sqlite_utils.Database, username: str, *, by: str | None = None) -> None:
    """Let a disabled user log in again. Raises :class:`UnknownUserError`."""
    _set(db, username, {"disabled_at": None}, "user.enable", by)


def set_role(
    db: sqlite_utils.Database, username: str, role: Role | str, *, by: str | None = None
) -> None:
    """Give ``username`` another role; their open sessions end (they log in again with it).
    Raises :class:`UnknownUserError`; ValueError for an unknown role."""
    role = Role(role)
    _set(db, username, {"role": role.value}, "user.role", by, after=role.value)


def delete_user(db: sqlite_utils.Database, username: str, *, by: str | None = None) -> None:
    """Delete the account (their reviews and the audit log keep the name). Open sessions end.
    Raises :class:`UnknownUserError`."""
    _require(db, username)
    with db.conn:
        table(db, "users").delete(username)
        db.conn.execute("delete from login_failures where username = ?", [username])
        audit_log.record(db, by or _CLI, "user.delete", target=username)
    logger.info("deleted user %s", username)


def is_disabled(db: sqlite_utils.Database, username: str) -> bool:
    row = db.execute("select disabled_at from users where username = ?", [username]).fetchone()
    return bool(row and row[0])


def account_stamp(db: sqlite_utils.Database, username: str) -> str | None:
    """What a session is bound to: the role and a digest of the password hash; None when the
    account is gone or disabled (no session of it may go on)."""
    row = db.execute(
        "select role, password_hash, disabled_at from users where username = ?", [username]
    ).fetchone()
    if row is None or row[2]:
        return None
    return f"{row[0]}:{hashlib.sha256(row[1].encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class _Counts:
    client: int
    user: int
    last: datetime | None


def _failures(db: sqlite_utils.Database, username: str, client: str, now: datetime) -> _Counts:
    since = (now - LOGIN_WINDOW).isoformat(timespec="seconds")
    by_client, last_client = db.execute(
        "select count(*), max(at) from login_failures where client = ? and at >= ?",
        [client, since],
    ).fetchone()
    by_user, last_user = db.execute(
        "select count(*), max(at) from login_failures where username = ? and at >= ?",
        [username, since],
    ).fetchone()
    stamps = [datetime.fromisoformat(s) for s in (last_client, last_user) if s]
    return _Counts(by_client, by_user, max(stamps) if stamps else None)


def guarded_login(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    client: str,
    *,
    now: datetime | None = None,
) -> LoginAttempt:
    """:func:`qa.access.users.login` behind the client and username limits, refusing disabled
    accounts (after the password check, so a refusal does not tell a disabled account apart)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    counts = _failures(db, username, client, now)
    if counts.client >= CLIENT_MAX_FAILURES or counts.user >= USER_MAX_FAILURES:
        assert counts.last is not None
        locked_until = counts.last + LOGIN_LOCKOUT
        if now < locked_until:
            logger.warning(
                "login refused for %r from %s: %d failures from this client, %d for this user",
                username, client, counts.client, counts.user,
            )  # fmt: skip
            return LoginAttempt(None, locked_until)
    attempt = login(db, username, password, client, now=now)
    if attempt.user is not None and is_disabled(db, username):
        logger.warning("login refused for %r: the account is disabled", username)
        return LoginAttempt(None)
    return attempt
