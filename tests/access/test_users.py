"""Review-app users (qa.access.users) and the `qa users` / `qa serve` first-run commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.access.permissions import sees_personal_data
from qa.access.roles import Role
from qa.access.users import (
    InvalidUserError,
    UnknownUserError,
    UserExistsError,
    add_user,
    authenticate,
    ensure_admin,
    get_user,
    hash_password,
    list_users,
    set_password,
    verify_password,
)
from qa.cli.users import users
from qa.db import memory_db, open_db

PASSWORD = "blue river 42"


def test_passwords_are_stored_hashed_and_salted() -> None:
    db = memory_db()
    add_user(db, "lin", PASSWORD, Role.REVIEWER)
    add_user(db, "mei", PASSWORD, Role.AUDITOR)
    stored = {row["username"]: row["password_hash"] for row in db["users"].rows}
    assert all(PASSWORD not in value for value in stored.values())
    assert stored["lin"].startswith("scrypt$") and stored["lin"] != stored["mei"]  # own salt
    assert verify_password(PASSWORD, stored["lin"])


def test_authenticate_accepts_the_right_password_only() -> None:
    db = memory_db()
    add_user(db, "lin", PASSWORD, "reviewer")
    user = authenticate(db, "lin", PASSWORD)
    assert user is not None and (user.username, user.role) == ("lin", Role.REVIEWER)
    assert authenticate(db, "lin", PASSWORD + "x") is None
    assert authenticate(db, "lin", "") is None
    assert authenticate(db, "nobody", PASSWORD) is None
    assert authenticate(db, "LIN", PASSWORD) is None


def test_verify_password_rejects_unreadable_hashes() -> None:
    assert not verify_password(PASSWORD, "")
    assert not verify_password(PASSWORD, "md5$abc")
    assert not verify_password(PASSWORD, hash_password(PASSWORD).replace("scrypt", "bcrypt"))


def test_set_password_replaces_the_old_one() -> None:
    db = memory_db()
    add_user(db, "lin", PASSWORD, Role.REVIEWER)
    set_password(db, "lin", "a new long password")
    assert authenticate(db, "lin", PASSWORD) is None
    assert authenticate(db, "lin", "a new long password") is not None
    with pytest.raises(UnknownUserError, match="qa users add ghost"):
        set_password(db, "ghost", "whatever123")


def test_add_user_checks_name_role_password_and_duplicates() -> None:
    db = memory_db()
    add_user(db, "lin", PASSWORD, Role.REVIEWER)
    with pytest.raises(UserExistsError, match="qa users passwd lin"):
        add_user(db, "lin", PASSWORD, Role.ADMIN)
    with pytest.raises(InvalidUserError, match="unknown role 'boss'"):
        add_user(db, "wu", PASSWORD, "boss")
    with pytest.raises(InvalidUserError, match="too short"):
        add_user(db, "wu", "short", Role.REVIEWER)
    with pytest.raises(InvalidUserError, match="invalid username"):
        add_user(db, "../wu", PASSWORD, Role.REVIEWER)
    assert [u.username for u in list_users(db)] == ["lin"]


def test_only_auditors_and_admins_see_personal_data() -> None:
    assert {r for r in Role if sees_personal_data(r)} == {Role.AUDITOR, Role.ADMIN}


def test_ensure_admin_only_on_an_empty_store() -> None:
    db = memory_db()
    password = ensure_admin(db)
    assert password and len(password) >= 12
    assert authenticate(db, "admin", password).role == Role.ADMIN
    assert ensure_admin(db) is None  # users exist: nothing created, nothing printed


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_add_list_passwd(tmp_path: Path) -> None:
    db_path = tmp_path / "qa.db"
    runner = CliRunner()
    result = runner.invoke(
        users,
        ["add", "lin", "--role", "reviewer", "--db", str(db_path)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "added lin (reviewer)" in result.output and PASSWORD not in result.output
    result = runner.invoke(
        users,
        ["add", "mei", "--role", "auditor", "--db", str(db_path), "--password-stdin"],
        input="mei's password\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output

    result = runner.invoke(users, ["list", "--db", str(db_path), "--json"], catch_exceptions=False)
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["username"], r["role"]) for r in records] == [
        ("lin", "reviewer"),
        ("mei", "auditor"),
    ]
    assert all("password" not in key for r in records for key in r)
    table = runner.invoke(users, ["list", "--db", str(db_path)], catch_exceptions=False).output
    assert "lin" in table and "auditor" in table

    result = runner.invoke(
        users,
        ["passwd", "lin", "--db", str(db_path)],
        input="changed password\nchanged password\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0 and "changed the password of lin" in result.output
    db = open_db(db_path)
    assert authenticate(db, "lin", "changed password") is not None
    assert authenticate(db, "lin", PASSWORD) is None
    assert authenticate(db, "mei", "mei's password").role == Role.AUDITOR


def test_cli_refuses_mismatched_prompts_and_existing_users(tmp_path: Path) -> None:
    db_path = tmp_path / "qa.db"
    runner = CliRunner()
    args = ["add", "lin", "--role", "admin", "--db", str(db_path)]
    # Mismatched confirmation: click asks again; then the matching pair is accepted.
    result = runner.invoke(users, args, input=f"{PASSWORD}\nother\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and "match" in result.output
    result = runner.invoke(users, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(users, ["passwd", "ghost", "--db", str(db_path), "--password-stdin"],
                           input="long enough\n")  # fmt: skip
    assert result.exit_code == 1 and "no user 'ghost'" in result.output
    result = runner.invoke(users, [*args, "--password-stdin"], input="")
    assert result.exit_code == 2 and "no password on standard input" in result.output


def test_cli_help_has_examples() -> None:
    runner = CliRunner()
    for command in ([], ["add"], ["passwd"], ["list"]):
        result = runner.invoke(users, [*command, "--help"], catch_exceptions=False)
        assert "Example:" in result.output and "qa users" in result.output


def test_get_user_never_exposes_the_hash() -> None:
    db = memory_db()
    add_user(db, "lin", PASSWORD, Role.SUPERVISOR)
    user = get_user(db, "lin")
    assert user is not None and not hasattr(user, "password_hash")
    assert get_user(db, "nobody") is None
