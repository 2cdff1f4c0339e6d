"""The Users tab: admins add users, set passwords and link agent users to the agent identity
their calls carry (qa.access.agent_links; as ``qa users link-agent``); everyone else is told it
is not theirs.

The refusal is decided on the server for every request (qa.access.permissions, ``manage_users``): a
reviewer sees a notice instead of the form, and an action sent anyway is refused. Changes are
in the audit log (qa.access.users records who made them).

:func:`layout` places the components; the handlers (``load``, ``add``, ``passwd``, ``link``)
are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs users`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.agent_links import link_agent, linked_agents
from qa.access.permissions import Action, can
from qa.access.roles import Role, User
from qa.access.users import UserError, add_user, list_users, set_password
from qa.review.call_view import list_agents
from ui.context import AppContext, permitted, refused
from ui.render import CSS, denied_html

logger = logging.getLogger(__name__)

HEADERS = ["User", "Role", "Created (UTC)", "Agent"]
DENIED = "Only admins manage users. Ask an admin to add a user or reset a password."


def users_frame(db: Any) -> pd.DataFrame:
    """Every user with their role, when they were added, and (agents) the agent they are."""
    links = linked_agents(db)
    return pd.DataFrame(
        [
            [u.username, u.role.value, u.created_at.strftime("%Y-%m-%d %H:%M") if u.created_at
             else "", links.get(u.username, "(not linked)" if u.role is Role.AGENT else "")]
            for u in list_users(db)
        ],
        columns=HEADERS,
    )  # fmt: skip


@dataclass(frozen=True)
class UsersWidgets:
    """The Users tab's components: the notice, or the admins' tools."""

    notice: gr.HTML
    admin_tools: gr.Column
    table: gr.Dataframe
    name: gr.Textbox
    role: gr.Dropdown
    password: gr.Textbox
    add_button: gr.Button
    passwd_button: gr.Button
    agent: gr.Dropdown  # the agent identity to link the user named above to
    link_button: gr.Button
    result: gr.Markdown


def layout() -> UsersWidgets:
    """Lay out the Users tab inside the current Blocks context (tools hidden until it loads)."""
    notice = gr.HTML("", elem_id="qa-users-notice", css_template=CSS)
    with gr.Column(visible=False) as admin_tools:
        table = gr.Dataframe(value=pd.DataFrame([], columns=HEADERS), headers=HEADERS,
                             interactive=False, elem_id="qa-users", label="Users")  # fmt: skip
        with gr.Row():
            name = gr.Textbox(label="Username", scale=2, elem_id="qa-user-name")
            role = gr.Dropdown([r.value for r in Role], value=Role.REVIEWER.value, label="Role",
                               scale=1, elem_id="qa-user-role")  # fmt: skip
            password = gr.Textbox(label="Password (8+ characters)", type="password", scale=2,
                                  elem_id="qa-user-password")  # fmt: skip
        with gr.Row():
            add_button = gr.Button("Add user", variant="primary", elem_id="qa-user-add")
            passwd_button = gr.Button("Set password of this user", elem_id="qa-user-passwd")
        with gr.Row():
            agent = gr.Dropdown(label="Agent (id, or queue member name) this agent user is",
                                choices=[], allow_custom_value=True, scale=3,
                                elem_id="qa-user-agent")  # fmt: skip
            link_button = gr.Button("Link this user to the agent", scale=1,
                                    elem_id="qa-user-link")  # fmt: skip
    result = gr.Markdown(elem_id="qa-users-result")
    return UsersWidgets(notice, admin_tools, table, name, role, password, add_button,
                        passwd_button, agent, link_button, result)  # fmt: skip


def load(ctx: AppContext, user: User) -> list[Any]:
    """The notice for roles that may not manage users, else the tools, the users and the agents
    the store's calls know (to link agent users to)."""
    if not can(user.role, Action.MANAGE_USERS):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip(), gr.skip()]
    with ctx.db() as db:
        agents = [(f"{label} ({key})" if label != key else key, key)
                  for key, label in list_agents(db)]  # fmt: skip
        return ["", gr.Column(visible=True), users_frame(db), gr.Dropdown(choices=agents)]


def add(ctx: AppContext, user: User, username: str, role_name: str, secret: str) -> list[Any]:
    """Add a user (admins): the users again, a line saying so, the password field cleared."""
    admin = permitted(user, Action.MANAGE_USERS)
    with ctx.db() as db:
        try:
            added = add_user(db, username.strip(), secret, role_name, by=admin.username)
        except UserError as refusal:
            return refused(str(refusal), 3)
        frame = users_frame(db)
    return [frame, f"Added {added.username} ({added.role.value}).", ""]


def passwd(ctx: AppContext, user: User, username: str, secret: str) -> list[Any]:
    """Set a user's password (admins): a line saying so, the password field cleared."""
    admin = permitted(user, Action.MANAGE_USERS)
    with ctx.db() as db:
        try:
            set_password(db, username.strip(), secret, by=admin.username)
        except UserError as refusal:
            return refused(str(refusal), 3)
    return [gr.skip(), f"Set a new password for {username.strip()}.", ""]


def link(ctx: AppContext, user: User, username: str, agent: str | None) -> list[Any]:
    """Link the agent user ``username`` to the agent identity ``agent`` (admins): the users
    again and a line saying so; the link is in the audit log under the admin's name."""
    admin = permitted(user, Action.MANAGE_USERS)
    with ctx.db() as db:
        try:
            link_agent(db, (username or "").strip(), agent or "", by=admin.username)
        except UserError as refusal:
            return refused(str(refusal), 3)
        frame = users_frame(db)
    return [frame, f"Linked {username.strip()} to agent {(agent or '').strip()}.", gr.skip()]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Users tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_add(username: str, role_name: str, secret: str, request: gr.Request) -> list[Any]:
        return add(ctx, ctx.viewer(request), username, role_name, secret)

    def on_passwd(username: str, secret: str, request: gr.Request) -> list[Any]:
        return passwd(ctx, ctx.viewer(request), username, secret)

    def on_link(username: str, agent: str | None, request: gr.Request) -> list[Any]:
        return link(ctx, ctx.viewer(request), username, agent)

    results = [w.table, w.result, w.password]
    app.load(on_load, inputs=None, outputs=[w.notice, w.admin_tools, w.table, w.agent])
    w.link_button.click(on_link, inputs=[w.name, w.agent], outputs=results)
    w.add_button.click(on_add, inputs=[w.name, w.role, w.password], outputs=results)
    w.passwd_button.click(on_passwd, inputs=[w.name, w.password], outputs=results)
