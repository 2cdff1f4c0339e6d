"""The Rubrics tab (supervisors, admins): the deployed rubrics, a draft edited in place, checked
with ``qa rubrics check``'s messages, tried on a period of stored calls without writing, and
deployed as a new version with the stored calls re-scored (in the audit log).

Handlers take ``(ctx, user, ...)`` and check ``manage_rubrics`` on the server::

    choices, text = load_page(ctx, user)
    message = check(ctx, user, "inbound-service", text)
    report = try_it(ctx, user, "inbound-service", text, "2026-11-01", "", "")
    message = deploy(ctx, user, "inbound-service", text, "2026-11-01", "reason")
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from qa.access.permissions import Action, PermissionDeniedError, sees_personal_data
from qa.access.roles import User
from qa.config import default_rubrics_dir
from qa.results.drafts import DraftError, check_draft, deploy_draft, deployed_rubrics, try_draft
from scoring import RubricError
from ui.context import AppContext, permitted
from ui.widgets import parse_day

logger = logging.getLogger(__name__)


def _folder(ctx: AppContext) -> Path:
    return ctx.rubrics_dir or default_rubrics_dir()


def _deployed(ctx: AppContext) -> dict[str, tuple[Path, str]]:
    try:
        return deployed_rubrics(_folder(ctx))
    except (RubricError, OSError) as error:
        raise gr.Error(f"the deployed rubrics do not load: {error}") from None


def load_page(ctx: AppContext, user: User) -> tuple[Any, str]:
    """The deployed rubrics to choose from, and the first one's text."""
    permitted(user, Action.MANAGE_RUBRICS)
    deployed = _deployed(ctx)
    first = sorted(deployed)[0] if deployed else None
    return gr.Dropdown(choices=sorted(deployed), value=first), deployed[first][1] if first else ""


def show(ctx: AppContext, user: User, rubric_id: str) -> str:
    """The deployed text of ``rubric_id`` (to start a draft from)."""
    permitted(user, Action.MANAGE_RUBRICS)
    deployed = _deployed(ctx)
    if rubric_id not in deployed:
        raise gr.Error(f"no deployed rubric {rubric_id!r}")
    return deployed[rubric_id][1]


def check(ctx: AppContext, user: User, rubric_id: str, text: str) -> str:
    """The draft's problems as ``qa rubrics check`` words them, or that it is valid."""
    permitted(user, Action.MANAGE_RUBRICS)
    try:
        problems = check_draft(_folder(ctx), rubric_id, text)
    except DraftError as error:
        raise gr.Error(str(error)) from None
    if not problems:
        return f"ok: the draft of {rubric_id} is valid"
    return "FAIL\n" + "\n".join(f"  {problem}" for problem in problems)


def try_it(
    ctx: AppContext, user: User, rubric_id: str, text: str, since: str, until: str, agent: str
) -> str:
    """What the draft would change on the period's stored calls (nothing is written)."""
    permitted(user, Action.MANAGE_RUBRICS)
    with ctx.db() as db:
        try:
            report = try_draft(
                db, _folder(ctx), rubric_id, text,
                since=parse_day(since, "Since"), until=parse_day(until, "Until"),
                agent=(agent or "").strip() or None, zone=ctx.zone,
                masked=not sees_personal_data(user.role),
            )  # fmt: skip
        except DraftError as error:
            return "FAIL\n" + str(error)
    return "\n".join(report.lines())


def deploy(ctx: AppContext, user: User, rubric_id: str, text: str, since: str, reason: str) -> str:
    """Deploy the draft as a new version and re-score the stored calls from ``since``."""
    permitted(user, Action.MANAGE_RUBRICS)
    with ctx.db() as db:
        try:
            summary = deploy_draft(
                db, _folder(ctx), rubric_id, text, user,
                since=parse_day(since, "Re-score since"), zone=ctx.zone, reason=reason or "",
            )  # fmt: skip
        except (DraftError, PermissionDeniedError) as error:
            raise gr.Error(str(error)) from None
    logger.info("%s deployed %s v%s", user.username, rubric_id, summary.version)
    return (
        f"Deployed {rubric_id} v{summary.version}: re-scored {summary.rescored} call(s), "
        f"{len(summary.changes)} verdict(s) changed on {summary.calls_changed} call(s)."
    )


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Rubrics tab inside the current Blocks context and wire its events."""
    with gr.Row():
        rubric = gr.Dropdown(label="Deployed rubric", choices=[], elem_id="qa-rubric-id")
        since = gr.Textbox(label="Try / re-score since (YYYY-MM-DD)")
        until = gr.Textbox(label="Try until (YYYY-MM-DD)")
        agent = gr.Textbox(label="Try on agent")
    draft = gr.Code(label="Draft (YAML): change it, bump its version", language="yaml",
                    elem_id="qa-rubric-draft", lines=24)  # fmt: skip
    with gr.Row():
        check_button = gr.Button("Check", size="sm")
        try_button = gr.Button("Try on stored calls", size="sm")
        reason = gr.Textbox(label="Why (for the audit log)", scale=3)
        deploy_button = gr.Button("Deploy as new version", variant="stop", size="sm")
    result = gr.Textbox(label="Result", lines=12, interactive=False, elem_id="qa-rubric-result")

    def on_load(request: gr.Request) -> tuple[Any, str]:
        user = ctx.viewer(request)
        try:
            return load_page(ctx, user)
        except gr.Error:
            return gr.Dropdown(choices=[]), "Rubrics are managed by supervisors and admins."

    def on_show(rubric_id: str, request: gr.Request) -> str:
        return show(ctx, ctx.viewer(request), rubric_id)

    def on_check(rubric_id: str, text: str, request: gr.Request) -> str:
        return check(ctx, ctx.viewer(request), rubric_id, text)

    def on_try(rubric_id: str, text: str, since_day: str, until_day: str, agent_id: str,
               request: gr.Request) -> str:  # fmt: skip
        return try_it(ctx, ctx.viewer(request), rubric_id, text, since_day, until_day, agent_id)

    def on_deploy(rubric_id: str, text: str, since_day: str, why: str,
                  request: gr.Request) -> str:  # fmt: skip
        return deploy(ctx, ctx.viewer(request), rubric_id, text, since_day, why)

    app.load(on_load, inputs=None, outputs=[rubric, draft])
    rubric.input(on_show, inputs=rubric, outputs=draft)
    check_button.click(on_check, inputs=[rubric, draft], outputs=result)
    try_button.click(on_try, inputs=[rubric, draft, since, until, agent], outputs=result)
    deploy_button.click(on_deploy, inputs=[rubric, draft, since, reason], outputs=result)
