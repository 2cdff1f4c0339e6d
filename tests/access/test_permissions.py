"""Who may do what (qa.access.permissions) and the login rate limit (qa.access.users.login)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qa.access.permissions import (
    PERMISSIONS,
    Action,
    PermissionDeniedError,
    can,
    require,
    roles_for,
    sees_personal_data,
)
from qa.access.roles import Role, User
from qa.access.users import LOGIN_LOCKOUT, LOGIN_MAX_FAILURES, add_user, login, set_password
from qa.db import memory_db

PASSWORD = "right password"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_every_action_has_roles_and_a_description() -> None:
    assert set(PERMISSIONS) == set(Action)
    for roles, what in PERMISSIONS.values():
        assert roles and what


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (Role.REVIEWER, {Action.REVIEW_CALLS, Action.VIEW_QUEUES, Action.OPEN_COMPLAINTS},
         {Action.MANAGE_USERS, Action.ASSIGN_REVIEWS, Action.EDIT_OTHERS_REVIEWS,
          Action.SEE_PERSONAL_DATA, Action.DISPUTE_REVIEWS}),
        (Role.SUPERVISOR, {Action.ASSIGN_REVIEWS, Action.EDIT_OTHERS_REVIEWS,
                           Action.VIEW_AGENT_RECORDS, Action.DISPUTE_REVIEWS},
         {Action.MANAGE_USERS, Action.SEE_PERSONAL_DATA}),
        (Role.AUDITOR, {Action.SEE_PERSONAL_DATA, Action.AUDIT_IDENTITY, Action.EXPORT_DATA},
         {Action.REVIEW_CALLS, Action.MANAGE_USERS, Action.ASSIGN_REVIEWS}),
        (Role.ADMIN, set(Action), set()),
    ],
)  # fmt: skip
def test_roles_may_do_what_their_job_needs(role: Role, allowed: set, denied: set) -> None:
    assert {a for a in allowed if can(role, a)} == allowed
    assert {a for a in denied if can(role, a)} == set()


def test_only_admins_manage_users_and_masking_follows_the_table() -> None:
    assert roles_for(Action.MANAGE_USERS) == {Role.ADMIN}
    for role in Role:
        assert sees_personal_data(role) == can(role, Action.SEE_PERSONAL_DATA)


def test_require_says_who_may() -> None:
    rita = User("rita", Role.REVIEWER)
    require(rita, Action.REVIEW_CALLS)
    with pytest.raises(PermissionDeniedError) as denied:
        require(rita, "manage_users")
    assert str(denied.value) == (
        "rita (reviewer) may not add users and change their passwords: that needs the role "
        "admin; ask an admin if you should have it"
    )


def test_user_changes_are_in_the_audit_log() -> None:
    from qa.access.audit_log import entries

    db = memory_db()
    add_user(db, "lin", PASSWORD, Role.REVIEWER, by="admin")
    set_password(db, "lin", "another password")
    log = entries(db, action_prefix="user.")
    assert [(e.actor, e.action, e.target, e.after) for e in log] == [
        ("admin", "user.add", "lin", "reviewer"),
        ("(qa users)", "user.passwd", "lin", None),
    ]
    assert "password" not in " ".join(str(e) for e in log).replace("user.passwd", "")


# --- the login rate limit ----------------------------------------------------------------------


@pytest.fixture
def db():
    store = memory_db()
    add_user(store, "lin", PASSWORD, Role.REVIEWER)
    return store


def test_a_right_password_logs_in(db) -> None:
    attempt = login(db, "lin", PASSWORD, "10.0.0.7", now=T0)
    assert attempt.user is not None and attempt.user.username == "lin"
    assert attempt.locked_until is None
    assert login(db, "lin", "wrong", "10.0.0.7", now=T0).user is None


def test_five_failures_lock_the_user_on_that_client_even_with_the_right_password(db) -> None:
    for n in range(LOGIN_MAX_FAILURES - 1):
        attempt = login(db, "lin", f"wrong {n}", "10.0.0.7", now=T0 + timedelta(minutes=n))
        assert attempt.user is None and attempt.locked_until is None
    last = T0 + timedelta(minutes=LOGIN_MAX_FAILURES - 1)
    attempt = login(db, "lin", "wrong again", "10.0.0.7", now=last)
    assert attempt.user is None and attempt.locked_until == last + LOGIN_LOCKOUT
    # Locked: the right password is refused, and does not extend the lock.
    soon = last + timedelta(minutes=1)
    attempt = login(db, "lin", PASSWORD, "10.0.0.7", now=soon)
    assert attempt.user is None and attempt.locked_until == last + LOGIN_LOCKOUT
    # Another client is not locked out, nor another user on this client.
    assert login(db, "lin", PASSWORD, "10.0.0.8", now=soon).user is not None
    add_user(db, "mei", PASSWORD, Role.REVIEWER)
    assert login(db, "mei", PASSWORD, "10.0.0.7", now=soon).user is not None
    # After the lock-out the right password works again, and clears the count.
    after = last + LOGIN_LOCKOUT + timedelta(seconds=1)
    assert login(db, "lin", PASSWORD, "10.0.0.7", now=after).user is not None
    assert login(db, "lin", "wrong", "10.0.0.7", now=after).locked_until is None


def test_failures_spread_beyond_the_window_do_not_lock(db) -> None:
    for n in range(LOGIN_MAX_FAILURES + 2):
        attempt = login(db, "lin", "wrong", "10.0.0.7", now=T0 + timedelta(minutes=4 * n))
        assert attempt.locked_until is None  # never 5 within 15 minutes
    assert login(db, "lin", PASSWORD, "10.0.0.7", now=T0 + timedelta(minutes=40)).user
