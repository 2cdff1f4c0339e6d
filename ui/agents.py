"""The Agents tab: the team's records with rank, trends over time, one agent's items and complaints.

Supervisors, auditors and admins see it (``view_agent_records``); other roles get a note. The team
table also shows what followed the evaluations: the shares acknowledged and appealed by the agent,
and the share of decided appeals overturned (qa.review.appeals). Every
figure counts the reviewer's verdict where a call was reviewed (qa.records.agents). Days, weeks and
months are the site's (the time zone ``qa serve --config`` names; UTC without one).

:func:`layout` places the components; the handlers (``load``, ``team_view``, ``agent_view``) are
plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs agents`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.masking import mask_personal_data
from qa.access.permissions import Action, can
from qa.access.roles import User
from qa.records.agents import AgentRecord, Period, agent_records
from qa.records.complaints import list_cases, sync_complaint_cases
from ui.context import AppContext, keeps_page, permitted
from ui.render import local_time
from ui.widgets import parse_day

logger = logging.getLogger(__name__)

TEAM_HEADERS = ["Rank", "Agent", "Calls", "Reviewed", "Avg score", "Pass rate",
                "Critical fails", "Complaints", "Acknowledged", "Appealed",
                "Overturned"]  # fmt: skip
ITEM_HEADERS = ["Item", "Pass rate", "Periods"]
CASE_HEADERS = ["Case", "Opened", "Call", "Severity", "Status", "Owner", "Summary"]
_DENIED = "Agent records are for supervisors, auditors and admins; ask an admin for access."


def _complaints_cell(record: AgentRecord) -> str:
    if not record.complaints:
        return "0"
    cases = ", ".join(f"{n} {status}" for status, n in record.complaint_cases.items())
    return f"{record.complaints} ({cases})" if cases else str(record.complaints)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def team_frame(records: list[AgentRecord]) -> pd.DataFrame:
    """The team table over the whole range, best rank first."""
    rows = [
        [
            r.rank if r.rank is not None else "-",
            r.label,
            r.calls_scored,
            r.calls_reviewed,
            round(r.average_score, 1),
            f"{r.pass_rate:.0%}",
            r.critical_failures,
            _complaints_cell(r),
            _rate(r.acknowledgement_rate),
            _rate(r.appeal_rate),
            _rate(r.overturn_rate),
        ]
        for r in sorted(records, key=lambda r: (r.rank is None, r.rank or 0, r.label))
    ]
    return pd.DataFrame(rows, columns=TEAM_HEADERS)


def trend_frame(records: list[AgentRecord]) -> pd.DataFrame:
    """One point per agent and period: the average score (for the team plot)."""
    rows = [
        {"Period": r.period_label, "Average score": round(r.average_score, 2), "Agent": r.label}
        for r in records
    ]
    return pd.DataFrame(rows, columns=["Period", "Average score", "Agent"])


def agent_trend_frame(records: list[AgentRecord]) -> pd.DataFrame:
    """One agent's series per period: average score and pass rate, both in percent."""
    rows = []
    for r in records:
        rows.append({"Period": r.period_label, "Percent": round(r.average_score, 2),
                     "Measure": "Average score"})  # fmt: skip
        rows.append({"Period": r.period_label, "Percent": round(100 * r.pass_rate, 2),
                     "Measure": "Pass rate"})  # fmt: skip
    return pd.DataFrame(rows, columns=["Period", "Percent", "Measure"])


def trend_plots(frame: pd.DataFrame) -> list[Any]:
    """The line chart of ``frame`` over the periods, or, when the range holds one period (a
    line needs two points, one alone draws nothing), the bar chart of that period instead."""
    one = frame["Period"].nunique() <= 1
    return [gr.LinePlot(value=frame, visible=not one), gr.BarPlot(value=frame, visible=one)]


def items_frame(total: AgentRecord | None, series: list[AgentRecord]) -> pd.DataFrame:
    """Each item's pass rate over the range, and per period (oldest first)."""
    if total is None:
        return pd.DataFrame([], columns=ITEM_HEADERS)
    rows = []
    for item, rate in total.item_pass_rates.items():
        per_period = ", ".join(
            f"{r.period_label} {r.item_pass_rates[item]:.0%}"
            for r in series
            if item in r.item_pass_rates
        )
        rows.append([item, f"{rate:.0%}", per_period])
    return pd.DataFrame(rows, columns=ITEM_HEADERS)


def _cases_frame(ctx: AppContext, user: User, agent: str) -> pd.DataFrame:
    with ctx.db() as db:
        cases = list_cases(db, agent=agent)
    masked = not can(user.role, Action.SEE_PERSONAL_DATA)
    rows = [
        [c.case_id, local_time(c.opened_at, ctx.zone), c.call_id, c.severity,
         c.status.value, c.owner or "-", mask_personal_data(c.summary) if masked else c.summary]
        for c in cases
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=CASE_HEADERS)


@dataclass(frozen=True)
class AgentsWidgets:
    """The Agents tab's components: the refusal note, or the body with the team and one agent."""

    denied: gr.Markdown
    body: gr.Column
    period: gr.Dropdown
    since: gr.Textbox
    until: gr.Textbox
    refresh: gr.Button
    team: gr.Dataframe
    team_plot: gr.LinePlot
    team_bars: gr.BarPlot  # instead of the line when the range holds one period
    agent: gr.Dropdown
    agent_plot: gr.LinePlot
    agent_bars: gr.BarPlot
    items: gr.Dataframe
    cases: gr.Dataframe


def layout() -> AgentsWidgets:
    """Lay out the Agents tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.Markdown(visible=False, elem_id="qa-agents-denied")
    with gr.Column(visible=False, elem_id="qa-agents") as body:
        with gr.Row():
            period = gr.Dropdown(
                label="Trend per", choices=[p.value for p in Period], value="week", scale=1
            )
            since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="first day", scale=1)
            until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="last day", scale=1)
            refresh = gr.Button("Refresh", size="sm", scale=1)
        team = gr.Dataframe(
            value=team_frame([]), headers=TEAM_HEADERS, interactive=False, elem_id="qa-team",
            label="The team over the range (reviewers' verdicts count where calls were reviewed)",
        )  # fmt: skip
        team_plot = gr.LinePlot(
            trend_frame([]), x="Period", y="Average score", color="Agent",
            title="Average score per period", y_lim=[0, 100], elem_id="qa-team-trend",
        )  # fmt: skip
        team_bars = gr.BarPlot(
            trend_frame([]), x="Agent", y="Average score", color="Agent", visible=False,
            title="Average score in the period", y_lim=[0, 100], elem_id="qa-team-bars",
        )  # fmt: skip
        agent = gr.Dropdown(label="Agent", choices=[], elem_id="qa-agent-choice")
        agent_plot = gr.LinePlot(
            agent_trend_frame([]), x="Period", y="Percent", color="Measure",
            title="The agent's trend", y_lim=[0, 100], elem_id="qa-agent-trend",
        )  # fmt: skip
        agent_bars = gr.BarPlot(
            agent_trend_frame([]), x="Measure", y="Percent", color="Measure", visible=False,
            title="The agent in the period", y_lim=[0, 100], elem_id="qa-agent-bars",
        )  # fmt: skip
        with gr.Row():
            items = gr.Dataframe(
                value=items_frame(None, []), headers=ITEM_HEADERS, interactive=False,
                label="Pass rate per item", elem_id="qa-agent-items", scale=1,
            )  # fmt: skip
            cases = gr.Dataframe(
                value=pd.DataFrame([], columns=CASE_HEADERS), headers=CASE_HEADERS,
                interactive=False, label="Complaints", elem_id="qa-agent-cases", scale=1,
            )  # fmt: skip
    return AgentsWidgets(denied, body, period, since, until, refresh, team, team_plot, team_bars,
                         agent, agent_plot, agent_bars, items, cases)  # fmt: skip


@keeps_page(4)
def agent_view(
    ctx: AppContext, user: User, key: str | None, period_value: str, first: str, last: str
) -> list[Any]:
    """One agent over the range: their trend (line and bar chart, see :func:`trend_plots`),
    each item's pass rate, their complaint cases (the customer's words masked unless the role
    may see personal data)."""
    permitted(user, Action.VIEW_AGENT_RECORDS)
    if not key:
        return [*trend_plots(agent_trend_frame([])), items_frame(None, []),
                pd.DataFrame([], columns=CASE_HEADERS)]  # fmt: skip
    since, until = parse_day(first, "Since"), parse_day(last, "Until")
    with ctx.db() as db:
        totals = agent_records(db, agent=key, tz=ctx.zone, since=since, until=until)
        series = agent_records(
            db, period=period_value, agent=key, tz=ctx.zone, since=since, until=until
        )
    total = totals[0] if totals else None
    return [*trend_plots(agent_trend_frame(series)), items_frame(total, series),
            _cases_frame(ctx, user, key)]  # fmt: skip


@keeps_page(8)
def team_view(
    ctx: AppContext, user: User, period_value: str, first: str, last: str, key: str | None
) -> list[Any]:
    """The team table and trend over the range, the agent choices (``key`` kept when it is
    still there, else the first agent), and that agent's :func:`agent_view`."""
    permitted(user, Action.VIEW_AGENT_RECORDS)
    since, until = parse_day(first, "Since"), parse_day(last, "Until")
    with ctx.db() as db:
        sync_complaint_cases(db)
        total = agent_records(db, tz=ctx.zone, since=since, until=until)
        series = agent_records(db, period=period_value, tz=ctx.zone, since=since, until=until)
    keys = [(r.label, r.key) for r in total if r.key is not None]
    chosen = key if key in {k for _, k in keys} else (keys[0][1] if keys else None)
    return [team_frame(total), *trend_plots(trend_frame(series)),
            gr.Dropdown(choices=keys, value=chosen),
            *agent_view(ctx, user, chosen, period_value, first, last)]  # fmt: skip


def load(ctx: AppContext, user: User) -> list[Any]:
    """The tab for ``user``: a note for roles that may not see agent records, else the body
    with the team by week over all time."""
    if not can(user.role, Action.VIEW_AGENT_RECORDS):
        return [gr.Markdown(_DENIED, visible=True), gr.Column(visible=False),
                *[gr.skip()] * 8]  # fmt: skip
    shown = team_view(ctx, user, "week", "", "", None)
    return [gr.Markdown(visible=False), gr.Column(visible=True), *shown]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Agents tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_team(period_value: str, first: str, last: str, key: str | None,
                request: gr.Request) -> list[Any]:  # fmt: skip
        return team_view(ctx, ctx.viewer(request), period_value, first, last, key)

    def on_agent(key: str | None, period_value: str, first: str, last: str,
                 request: gr.Request) -> list[Any]:  # fmt: skip
        return agent_view(ctx, ctx.viewer(request), key, period_value, first, last)

    detail = [w.agent_plot, w.agent_bars, w.items, w.cases]
    app.load(on_load, inputs=None,
             outputs=[w.denied, w.body, w.team, w.team_plot, w.team_bars, w.agent,
                      *detail])  # fmt: skip
    gr.on(
        [w.refresh.click, w.period.input, w.since.submit, w.until.submit],
        on_team,
        inputs=[w.period, w.since, w.until, w.agent],
        outputs=[w.team, w.team_plot, w.team_bars, w.agent, *detail],
    )
    w.agent.input(on_agent, inputs=[w.agent, w.period, w.since, w.until], outputs=detail)
