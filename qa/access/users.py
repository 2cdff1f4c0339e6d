"""Review-app users: who may log in, with which role, and their hashed passwords.

Passwords are hashed with scrypt (``hashlib.scrypt``, a memory-hard KDF from the standard library)
with a random 16-byte salt per password; the stored string records its parameters, so they can be
raised later without breaking old hashes. Checks use a constant-time compare, and an unknown user
costs the same hashing work as a wrong password::

    add_user(db, "lin", "correct horse battery", Role.REVIEWER)
    user = authenticate(db, "lin", "correct horse battery")   # User, or None when refused

Roles (what each may do is one table, :mod:`qa.access.permissions`):

- ``reviewer``: reviews calls; sees transcripts with personal data masked.
- ``supervisor``: a reviewer who also assigns reviews and follows agents' results; masked.
- ``auditor``: checks identity-verification evidence, so sees personal data unmasked.
- ``admin``: manages users and sees everything.

Logins are rate limited per username and client address: :data:`LOGIN_MAX_FAILURES` wrong
passwords within :data:`LOGIN_WINDOW` lock that pair out for :data:`LOGIN_LOCKOUT` (even the right
password is refused meanwhile)::

    attempt = login(db, "lin", password, client="10.0.0.7")
    attempt.user, attempt.locked_until          # User or None; when a lock-out ends

Adding users and changing passwords is recorded in the audit log (qa.access.audit_log).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from qa.access import audit_log
from qa.access.roles import Role, User
from qa.sql import table, utcnow

__all__ = [
    "LOGIN_LOCKOUT",
    "LOGIN_MAX_FAILURES",
    "LOGIN_WINDOW",
    "MIN_PASSWORD_LENGTH",
    "InvalidUserError",
    "LoginAttempt",
    "UnknownUserError",
    "UserError",
    "UserExistsError",
    "add_user",
    "authenticate",
    "ensure_admin",
    "get_user",
    "has_users",
    "hash_password",
    "list_users",
    "login",
    "set_password",
    "verify_password",
]

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_LOCKOUT = timedelta(minutes=15)
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

# scrypt cost: n=2**14, r=8 uses 16 MiB and ~50 ms per check (OWASP's minimum is n=2**13).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 32
_SCHEME = "scrypt"
_CLI = "(qa users)"  # the audit log's actor for changes made on the command line


class UserError(ValueError):
    """A user could not be added or changed; the message says why and what to do."""


class UserExistsError(UserError):
    pass


class UnknownUserError(UserError):
    pass


class InvalidUserError(UserError):
    """A bad username, role or password."""


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for ``password``, with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN)
    return "$".join(
        [_SCHEME, str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        logger.warning("unreadable password hash; the user must be given a new password")
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=64 * 1024 * 1024
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# A hash to check against when the username is unknown, so that timing does not tell which
# usernames exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _check_username(username: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise InvalidUserError(
            f"invalid username {username!r}: use 1-64 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUserError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidUserError(f"unknown role {role!r}: use one of {choices}") from None


def _user(row: dict) -> User:
    created = row.get("created_at")
    return User(
        username=row["username"],
        role=Role(row["role"]),
        created_at=datetime.fromisoformat(created) if created else None,
    )


def add_user(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    role: Role | str,
    *,
    by: str | None = None,
) -> User:
    """Create a user (``by``: who did it, for the audit log; None: the command line).
    Raises :class:`UserExistsError` or :class:`InvalidUserError`."""
    _check_username(username)
    role = _role(role)
    _check_password(password)
    if get_user(db, username) is not None:
        raise UserExistsError(
            f"user {username!r} already exists: change the password with "
            f"`qa users passwd {username}`"
        )
    row = {
        "username": username,
        "password_hash": hash_password(password),
        "role": role.value,
        "created_at": utcnow(),
    }
    with db.conn:
        table(db, "users").insert(row)
        audit_log.record(
            db, by or _CLI, "user.add", target=username, after=role.value, at=row["created_at"]
        )
    logger.info("added user %s (%s)", username, role.value)
    return _user(row)


def set_password(
    db: sqlite_utils.Database, username: str, password: str, *, by: str | None = None
) -> None:
    """Give ``username`` a new password (``by``: who did it, for the audit log; None: the
    command line). Raises :class:`UnknownUserError`."""
    _check_password(password)
    if get_user(db, username) is None:
        raise UnknownUserError(
            f"no user {username!r}: list users with `qa users list`, add one with "
            f"`qa users add {username} --role reviewer`"
        )
    with db.conn:
        table(db, "users").update(username, {"password_hash": hash_password(password)})
        audit_log.record(db, by or _CLI, "user.passwd", target=username)
    logger.info("changed the password of %s", username)


def get_user(db: sqlite_utils.Database, username: str) -> User | None:
    """The user called ``username``, or None."""
    rows = list(table(db, "users").rows_where("username = ?", [username]))
    return _user(rows[0]) if rows else None


def list_users(db: sqlite_utils.Database) -> list[User]:
    """All users, by username."""
    return [_user(row) for row in table(db, "users").rows_where(order_by="username")]


def has_users(db: sqlite_utils.Database) -> bool:
    """Whether any user exists yet."""
    return table(db, "users").count > 0


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (unknown users cost the same time)."""
    rows = list(table(db, "users").rows_where("username = ?", [username]))
    stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
    if verify_password(password, stored) and rows:
        return _user(rows[0])
    logger.info("login refused for %r", username)
    return None


def ensure_admin(db: sqlite_utils.Database, username: str = "admin") -> str | None:
    """When the store has no users at all, create ``username`` as an admin with a random
    password and return that password (to be shown once); otherwise return None."""
    if has_users(db):
        return None
    password = secrets.token_urlsafe(12)
    add_user(db, username, password, Role.ADMIN)
    return password


# --- logins ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginAttempt:
    """The outcome of a login: the user when it succeeded; ``locked_until`` while the username
    and client are locked out after too many wrong passwords."""

    user: User | None
    locked_until: datetime | None = None


def _recent_failures(
    db: sqlite_utils.Database, username: str, client: str, now: datetime
) -> list[datetime]:
    rows = db.execute(
        "select at from login_failures where username = ? and client = ? and at >= ? order by at",
        [username, client, (now - LOGIN_WINDOW).isoformat(timespec="seconds")],
    ).fetchall()
    return [datetime.fromisoformat(row[0]) for row in rows]


def login(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    client: str,
    *,
    now: datetime | None = None,
) -> LoginAttempt:
    """Check a login from ``client`` (its address), with the rate limit: after
    :data:`LOGIN_MAX_FAILURES` wrong passwords for this username from this client within
    :data:`LOGIN_WINDOW`, every attempt is refused until :data:`LOGIN_LOCKOUT` after the last
    one, without checking the password. A successful login clears the count."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    failures = _recent_failures(db, username, client, now)
    if len(failures) >= LOGIN_MAX_FAILURES:
        locked_until = failures[-1] + LOGIN_LOCKOUT
        if now < locked_until:
            logger.warning("login refused for %r from %s: locked out", username, client)
            return LoginAttempt(None, locked_until)
    user = authenticate(db, username, password)
    stamp = now.isoformat(timespec="seconds")
    with db.conn:
        if user is not None:
            db.conn.execute(
                "delete from login_failures where username = ? and client = ?", [username, client]
            )
        else:
            db.conn.execute(
                "insert into login_failures (username, client, at) values (?, ?, ?)",
                [username, client, stamp],
            )
        # Failures older than a day no longer count for anything.
        db.conn.execute(
            "delete from login_failures where at < ?",
            [(now - timedelta(days=1)).isoformat(timespec="seconds")],
        )
    if user is None and len(failures) + 1 >= LOGIN_MAX_FAILURES:
        logger.warning(
            "%r from %s: %d wrong passwords in %s, locked out for %s",
            username, client, len(failures) + 1, LOGIN_WINDOW, LOGIN_LOCKOUT,
        )  # fmt: skip
        return LoginAttempt(None, now + LOGIN_LOCKOUT)
    return LoginAttempt(user)
