"""Agents as users: which agent identity a user of role ``agent`` is.

The pipeline knows an agent by the identity calls carry: the agent id of the directory (usually the
extension, ``1001``) or, for an agent not in the directory, the queue member name queue_log wrote
(``Alice Smith``). Linking a user to that identity is what lets them see their own calls and
evaluations, and nothing else (qa.review.agent_view)::

    link_agent(db, "alice", "1001", by="ada")
    agent_of(db, "alice")          # "1001"; None for a user who is not linked

A link is recorded in the audit log (action ``user.link_agent``).
"""

from __future__ import annotations

import logging

import sqlite_utils

from qa.access import audit_log
from qa.access.roles import Role
from qa.access.users import UnknownUserError, UserError, get_user
from qa.sql import table, utcnow

__all__ = ["agent_of", "link_agent", "linked_agents"]

logger = logging.getLogger(__name__)

_CLI = "(qa users)"


def link_agent(
    db: sqlite_utils.Database, username: str, agent: str, *, by: str | None = None
) -> None:
    """Link the user ``username`` (role agent) to the agent identity ``agent`` (the agent id,
    or the queue member name of an agent not in the directory); replaces an earlier link.
    Raises :class:`qa.access.users.UserError` for an unknown user, another role or a blank
    identity."""
    agent = agent.strip()
    user = get_user(db, username)
    if user is None:
        raise UnknownUserError(
            f"no user {username!r}: add them first with `qa users add {username} --role agent`"
        )
    if user.role is not Role.AGENT:
        raise UserError(
            f"{username} is a {user.role.value}: only users of role agent are linked to an agent"
        )
    if not agent:
        raise UserError("give the agent id (e.g. the extension 1001) or the queue member name")
    before = agent_of(db, username)
    now = utcnow()
    with db.conn:
        table(db, "agent_users").upsert(
            {"username": username, "agent": agent, "linked_by": by or _CLI, "linked_at": now},
            pk="username",
        )
        audit_log.record(
            db, by or _CLI, "user.link_agent", target=username, before=before, after=agent, at=now
        )
    logger.info("linked user %s to agent %s", username, agent)


def agent_of(db: sqlite_utils.Database, username: str) -> str | None:
    """The agent identity ``username`` is linked to, or None."""
    row = db.execute("select agent from agent_users where username = ?", [username]).fetchone()
    return row[0] if row else None


def linked_agents(db: sqlite_utils.Database) -> dict[str, str]:
    """``{username: agent identity}`` for every linked user."""
    return dict(db.execute("select username, agent from agent_users order by username").fetchall())
