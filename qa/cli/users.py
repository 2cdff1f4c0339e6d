"""``qa users``: who may log in to the review app, and with which role."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qa.access.accounts import delete_user, disable_user, enable_user, set_role
from qa.access.roles import Role
from qa.access.users import UserError, add_user, list_users, set_password
from qa.db import open_db

_DB = click.Path(dir_okay=False, path_type=Path)
_EXISTING_DB = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """Manage the review app's users and their roles.

    Roles: reviewer and supervisor see transcripts with ID, card and phone numbers masked;
    auditor and admin see them unmasked.

    Example: qa users add lin --role reviewer --db var/demo.db
    """


@users.command()
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="What the user may see and do.",
)
@click.option("--db", type=_DB, required=True, help="The results store (created if missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(username: str, role: str, db: Path, password_stdin: bool) -> None:
    """Add a user; asks for the password twice (or reads it from stdin).

    Example: echo "$PASSWORD" | qa users add lin --role reviewer --db var/demo.db --password-stdin
    """
    password = _read_password(password_stdin)
    try:
        user = add_user(open_db(db), username, password, role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {user.username} ({user.role.value})")


@users.command()
@click.argument("username")
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def passwd(username: str, db: Path, password_stdin: bool) -> None:
    """Set a user's password; asks for it twice (or reads it from stdin).

    Example: qa users passwd admin --db var/demo.db
    """
    password = _read_password(password_stdin)
    try:
        set_password(open_db(db), username, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"changed the password of {username}")


@users.command(name="list")
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per user.")
def list_command(db: Path, as_json: bool) -> None:
    """List users and their roles (never their passwords).

    Example: qa users list --db var/demo.db --json
    """
    found = list_users(open_db(db))
    if as_json:
        for user in found:
            created = user.created_at.isoformat() if user.created_at else None
            record = {"username": user.username, "role": user.role.value, "created_at": created}
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if not found:
        click.echo("no users yet: add one with qa users add NAME --role admin", err=True)
        return
    table = Table("user", "role", "created (UTC)")
    for user in found:
        created = user.created_at.strftime("%Y-%m-%d %H:%M") if user.created_at else ""
        table.add_row(user.username, user.role.value, created)
    Console().print(table)


def _change(action: Callable[[], None], done: str) -> None:
    try:
        action()
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done)


@users.command()
@click.argument("username")
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
def disable(username: str, db: Path) -> None:
    """Refuse a user at login and end their open sessions (reviews and history stay).

    Example: qa users disable lin --db var/demo.db
    """
    store = open_db(db)
    _change(lambda: disable_user(store, username), f"disabled {username}: sessions end now")


@users.command()
@click.argument("username")
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
def enable(username: str, db: Path) -> None:
    """Let a disabled user log in again.

    Example: qa users enable lin --db var/demo.db
    """
    store = open_db(db)
    _change(lambda: enable_user(store, username), f"enabled {username}")


@users.command()
@click.argument("username")
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
@click.confirmation_option(prompt="Delete the account? (its reviews keep the name)")
def delete(username: str, db: Path) -> None:
    """Delete a user's account; open sessions end. Reviews and the audit log keep the name.

    Example: qa users delete lin --db var/demo.db --yes
    """
    store = open_db(db)
    _change(lambda: delete_user(store, username), f"deleted {username}")


@users.command()
@click.argument("username")
@click.argument("new_role", metavar="ROLE", type=click.Choice([r.value for r in Role]))
@click.option("--db", type=_EXISTING_DB, required=True, help="The results store.")
def role(username: str, new_role: str, db: Path) -> None:
    """Give a user another role; their open sessions end (they log in again with it).

    Example: qa users role lin supervisor --db var/demo.db
    """
    store = open_db(db)
    _change(lambda: set_role(store, username, new_role), f"{username} is now {new_role}")
