"""The Users tab: admins add users and set passwords; everyone else is told it is not theirs.

The refusal is decided on the server for every request (qa.access.permissions, ``manage_users``): a
reviewer sees a notice instead of the form, and an action sent anyway is refused. Changes are
in the audit log (qa.access.users records who made them).

Run alone for a look: ``python -m ui.users var/demo.db`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, can
from qa.access.roles import Role
from qa.access.users import UserError, add_user, list_users, set_password
from ui.context import AppContext, refused
from ui.render import CSS, denied_html

logger = logging.getLogger(__name__)

HEADERS = ["User", "Role", "Created (UTC)"]
DENIED = "Only admins manage users. Ask an admin to add a user or reset a password."


def users_frame(db: Any) -> pd.DataFrame:
    return pd.DataFrame(
        [
            [u.username, u.role.value, u.created_at.strftime("%Y-%m-%d %H:%M") if u.created_at
             else ""]
            for u in list_users(db)
        ],
        columns=HEADERS,
    )  # fmt: skip


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Users tab inside the current Blocks context and wire its events."""
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
    result = gr.Markdown(elem_id="qa-users-result")

    def load(request: gr.Request) -> list[Any]:
        user = ctx.viewer(request)
        if not can(user.role, Action.MANAGE_USERS):
            return [denied_html(DENIED), gr.Column(visible=False), gr.skip()]
        with ctx.db() as db:
            return ["", gr.Column(visible=True), users_frame(db)]

    def add(username: str, role_name: str, secret: str, request: gr.Request) -> list[Any]:
        admin = ctx.allowed(request, Action.MANAGE_USERS)
        with ctx.db() as db:
            try:
                added = add_user(db, username.strip(), secret, role_name, by=admin.username)
            except UserError as refusal:
                return refused(str(refusal), 3)
            frame = users_frame(db)
        return [frame, f"Added {added.username} ({added.role.value}).", ""]

    def passwd(username: str, secret: str, request: gr.Request) -> list[Any]:
        admin = ctx.allowed(request, Action.MANAGE_USERS)
        with ctx.db() as db:
            try:
                set_password(db, username.strip(), secret, by=admin.username)
            except UserError as refusal:
                return refused(str(refusal), 3)
        return [gr.skip(), f"Set a new password for {username.strip()}.", ""]

    app.load(load, inputs=None, outputs=[notice, admin_tools, table])
    add_button.click(add, inputs=[name, role, password], outputs=[table, result, password])
    passwd_button.click(passwd, inputs=[name, password], outputs=[table, result, password])


if __name__ == "__main__":
    from ui.app import serve

    serve(sys.argv[1], tabs=("users",))
