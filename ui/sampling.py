"""The Sampling tab: what the site's sampling plan draws for review, and what is left.

For supervisors and admins (``assign_reviews``): per agent and local day, the scored calls, the
calls the plan (``[sampling]`` of ``qa serve --config``) drew per tier (daily share, the minimum
per agent and day, extra checks after a failed one, the weekly second tier), how many of them were
reviewed and how many are left; below, each drawn call with the reviewer whose quota takes it
(qa.review.sampling). Other roles get a notice.

:func:`layout` places the components; the handlers (``load``, ``plan_view``) are plain functions of
the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs sampling`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, can
from qa.access.roles import User
from qa.review.sampling import TIERS, Draw, PlanRow, draw_plan, plan_summary
from ui.context import AppContext, permitted
from ui.render import CSS, denied_html
from ui.widgets import parse_day

logger = logging.getLogger(__name__)

SUMMARY_HEADERS = ["Day", "Agent", "Calls", *(t.capitalize() for t in TIERS), "Drawn",
                   "Reviewed", "Left"]  # fmt: skip
DRAW_HEADERS = ["Day", "Agent", "Call ID", "Tier", "Reviewer", "Reviewed"]
DENIED = "The sampling plan is for supervisors and admins."


def summary_frame(rows: list[PlanRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [[r.day.isoformat(), r.agent, r.calls, *(r.drawn[t] for t in TIERS),
          sum(r.drawn.values()), r.reviewed, r.left] for r in rows],
        columns=SUMMARY_HEADERS,
    )  # fmt: skip


def draws_frame(draws: list[Draw]) -> pd.DataFrame:
    return pd.DataFrame(
        [[d.day.isoformat(), d.agent, d.call_id, d.tier, d.reviewer or "-",
          "yes" if d.reviewed else ""] for d in draws],
        columns=DRAW_HEADERS,
    )  # fmt: skip


@dataclass(frozen=True)
class SamplingWidgets:
    denied: gr.HTML
    body: gr.Column
    since: gr.Textbox
    until: gr.Textbox
    refresh: gr.Button
    summary: gr.Dataframe
    draws: gr.Dataframe


def layout() -> SamplingWidgets:
    """Lay out the Sampling tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-sampling-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-sampling") as body:
        with gr.Row():
            since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="first day", scale=1)
            until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="last day", scale=1)
            refresh = gr.Button("Refresh", size="sm", scale=0)
        summary = gr.Dataframe(value=summary_frame([]), headers=SUMMARY_HEADERS,
                               interactive=False, elem_id="qa-sampling-summary",
                               label="Per agent and day: what the plan drew")  # fmt: skip
        draws = gr.Dataframe(value=draws_frame([]), headers=DRAW_HEADERS, interactive=False,
                             elem_id="qa-sampling-draws", max_height=400,
                             label="The drawn calls and who takes them")  # fmt: skip
    return SamplingWidgets(denied, body, since, until, refresh, summary, draws)


def plan_view(ctx: AppContext, user: User, first: str, last: str) -> list[Any]:
    """The summary and the draws over the range (blank: all time)."""
    permitted(user, Action.ASSIGN_REVIEWS)
    since, until = parse_day(first, "Since"), parse_day(last, "Until")
    with ctx.db() as db:
        draws = draw_plan(db, ctx.sampling, since=since, until=until, tz=ctx.zone)
        rows = plan_summary(db, draws, since=since, until=until, tz=ctx.zone)
    return [summary_frame(rows), draws_frame(draws)]


def load(ctx: AppContext, user: User) -> list[Any]:
    """The notice for roles that may not assign reviews, else the plan over all time."""
    if not can(user.role, Action.ASSIGN_REVIEWS):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip(), gr.skip()]
    return ["", gr.Column(visible=True), *plan_view(ctx, user, "", "")]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Sampling tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_refresh(first: str, last: str, request: gr.Request) -> list[Any]:
        return plan_view(ctx, ctx.viewer(request), first, last)

    app.load(on_load, inputs=None, outputs=[w.denied, w.body, w.summary, w.draws])
    gr.on([w.refresh.click, w.since.submit, w.until.submit], on_refresh,
          inputs=[w.since, w.until], outputs=[w.summary, w.draws])  # fmt: skip
