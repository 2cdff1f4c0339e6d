"""The Coaching tab: leads give agents coaching tasks; agents acknowledge theirs.

A supervisor or admin (``coach_agents``) assigns a task: the agent, the goal, the due date and the
moments to listen to (one per line: ``CALL_ID m:ss what to notice``, times as the evidence shows
them), then completes it with a note; the table shows each task with the agent's average score in
the four weeks before and after it (qa.records.coaching). An agent sees their own tasks only, with
the moments, and acknowledges them. Other roles get a notice. Leads also keep the library of
exemplary calls (good and bad, tagged by topic) and make playlists of them for the monthly quality
meeting.

:func:`layout` places the components; the handlers (``load``, ``assign``, ``complete``,
``acknowledge``) are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs coaching`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.records.coaching import (
    CoachingTask,
    Moment,
    acknowledge_task,
    add_to_library,
    assign_task,
    coaching_trend,
    complete_task,
    create_playlist,
    library,
    list_tasks,
    playlists,
)
from qa.review.appeals import own_agent
from qa.review.call_view import list_agents
from qa.review.state import ReviewWorkflowError
from ui.context import AppContext, permitted, refused
from ui.render import CSS, clock, denied_html
from ui.widgets import parse_day

logger = logging.getLogger(__name__)

HEADERS = ["#", "Agent", "Goal", "Due", "Status", "Moments", "Score before", "Score after"]
LIBRARY_HEADERS = ["Call ID", "Kind", "Topics", "Agent", "Note"]
PLAYLIST_HEADERS = ["#", "Playlist", "Calls"]
DENIED = "Coaching is for supervisors, admins and agents."


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def tasks_frame(ctx: AppContext, db: Any, tasks: list[CoachingTask]) -> pd.DataFrame:
    rows = []
    for t in tasks:
        before, after = coaching_trend(db, t, tz=ctx.zone)
        moments = "; ".join(f"{m.call_id} {clock(m.seconds)} {m.note}".strip() for m in t.moments)
        rows.append([t.task_id, t.agent, t.goal, t.due.isoformat(), t.status, moments,
                     _score(before), _score(after)])  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def parse_moments(text: str) -> list[Moment]:
    """``CALL_ID m:ss note`` (or seconds) per line; a gr.Error naming the line otherwise."""
    moments = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        try:
            if len(parts) < 2:
                raise ValueError
            minutes, _, seconds = parts[1].rpartition(":")
            at = float(seconds) + 60 * float(minutes or 0)
        except ValueError:
            raise gr.Error(f"Moments, line {number}: write CALL_ID m:ss note, e.g. "
                           "1763655760.42 0:03 no greeting") from None  # fmt: skip
        moments.append(Moment(parts[0], at, parts[2] if len(parts) > 2 else ""))
    return moments


def library_frames(db: Any, topic: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The library (of one topic) and the playlists."""
    calls = pd.DataFrame(
        [[c.call_id, c.kind, ", ".join(c.topics), c.agent or "", c.note]
         for c in library(db, topic=topic or None)],
        columns=LIBRARY_HEADERS,
    )  # fmt: skip
    lists = pd.DataFrame([[p.playlist_id, p.title, ", ".join(p.call_ids)] for p in playlists(db)],
                         columns=PLAYLIST_HEADERS)  # fmt: skip
    return calls, lists


@dataclass(frozen=True)
class CoachingWidgets:
    denied: gr.HTML
    body: gr.Column
    table: gr.Dataframe
    task: gr.Number
    acknowledge: gr.Button
    lead: gr.Column
    agent: gr.Dropdown
    goal: gr.Textbox
    due: gr.Textbox
    moments: gr.Textbox
    assign: gr.Button
    note: gr.Textbox
    complete: gr.Button
    message: gr.Markdown
    topic: gr.Textbox
    library: gr.Dataframe
    library_call: gr.Textbox
    kind: gr.Radio
    topics: gr.Textbox
    library_note: gr.Textbox
    keep: gr.Button
    playlist_title: gr.Textbox
    playlist_calls: gr.Textbox
    make_playlist: gr.Button
    playlists: gr.Dataframe


def layout() -> CoachingWidgets:
    """Lay out the Coaching tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-coaching-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-coaching") as body:
        table = gr.Dataframe(value=pd.DataFrame([], columns=HEADERS), headers=HEADERS,
                             interactive=False, elem_id="qa-coaching-table", wrap=True,
                             label="Coaching tasks")  # fmt: skip
        with gr.Row():
            task = gr.Number(label="Task #", precision=0, elem_id="qa-coaching-task", scale=1)
            acknowledge = gr.Button("Acknowledge the task", elem_id="qa-coaching-ack", scale=1)
        with gr.Column(visible=False, elem_id="qa-coaching-lead") as lead:
            with gr.Row():
                agent = gr.Dropdown(label="Agent", choices=[], elem_id="qa-coaching-agent")
                goal = gr.Textbox(label="Goal", elem_id="qa-coaching-goal", scale=2)
                due = gr.Textbox(label="Due (YYYY-MM-DD)", elem_id="qa-coaching-due")
            moments = gr.Textbox(label="Moments: one per line, CALL_ID m:ss what to notice",
                                 lines=3, elem_id="qa-coaching-moments")  # fmt: skip
            assign = gr.Button("Assign", variant="primary", elem_id="qa-coaching-assign")
            with gr.Row():
                note = gr.Textbox(label="Note on completion (the task # above)", scale=3)
                complete = gr.Button("Complete the task", scale=1, elem_id="qa-coaching-done")
            gr.Markdown("### Library of exemplary calls")
            topic = gr.Textbox(label="Topic (blank: all)", elem_id="qa-library-topic")
            library_table = gr.Dataframe(
                value=pd.DataFrame([], columns=LIBRARY_HEADERS), headers=LIBRARY_HEADERS,
                interactive=False, elem_id="qa-library", label="Good and bad examples",
            )  # fmt: skip
            with gr.Row():
                library_call = gr.Textbox(label="Call ID", scale=2)
                kind = gr.Radio(["good", "bad"], value="good", label="Kind", scale=1)
                topics = gr.Textbox(label="Topics (comma-separated)", scale=2)
                library_note = gr.Textbox(label="Why", scale=2)
                keep = gr.Button("Add to the library", scale=1, elem_id="qa-library-add")
            with gr.Row():
                playlist_title = gr.Textbox(label="Playlist title", scale=2)
                playlist_calls = gr.Textbox(label="Library calls, in order (comma-separated)",
                                            scale=3)  # fmt: skip
                make_playlist = gr.Button("Make the playlist", scale=1,
                                          elem_id="qa-playlist-make")  # fmt: skip
            playlists_table = gr.Dataframe(
                value=pd.DataFrame([], columns=PLAYLIST_HEADERS), headers=PLAYLIST_HEADERS,
                interactive=False, elem_id="qa-playlists", label="Playlists",
            )  # fmt: skip
        message = gr.Markdown(elem_id="qa-coaching-message")
    return CoachingWidgets(denied, body, table, task, acknowledge, lead, agent, goal, due,
                           moments, assign, note, complete, message, topic, library_table,
                           library_call, kind, topics, library_note, keep, playlist_title,
                           playlist_calls, make_playlist, playlists_table)  # fmt: skip


def _visible_tasks(ctx: AppContext, user: User) -> pd.DataFrame:
    with ctx.db() as db:
        if can(user.role, Action.COACH_AGENTS):
            return tasks_frame(ctx, db, list_tasks(db))
        try:
            agent = own_agent(db, user)
        except PermissionDeniedError as error:
            raise gr.Error(str(error)) from None
        return tasks_frame(ctx, db, list_tasks(db, agent=agent))


def load(ctx: AppContext, user: User) -> list[Any]:
    """Leads: every task and the tools; agents: their own tasks; others: a notice."""
    lead = can(user.role, Action.COACH_AGENTS)
    agent = can(user.role, Action.VIEW_OWN_EVALUATIONS) and not lead
    if not (lead or agent):
        return [denied_html(DENIED), gr.Column(visible=False), *[gr.skip()] * 5]
    if agent:
        with ctx.db() as db:
            try:
                own_agent(db, user)
            except PermissionDeniedError as error:
                return [denied_html(str(error)), gr.Column(visible=False), *[gr.skip()] * 5]
    choices: list[tuple[str, str]] = []
    frames: list[Any] = [gr.skip(), gr.skip()]
    if lead:
        with ctx.db() as db:
            choices = [(label, key) for key, label in list_agents(db)]
            frames = list(library_frames(db))
    return ["", gr.Column(visible=True), _visible_tasks(ctx, user), gr.Column(visible=lead),
            gr.Dropdown(choices=choices) if lead else gr.skip(), *frames]  # fmt: skip


def assign(
    ctx: AppContext, user: User, agent: str | None, goal: str, due: str, moments: str
) -> list[Any]:
    """Assign a task: the tasks again and a line saying so."""
    permitted(user, Action.COACH_AGENTS)
    day = parse_day(due, "Due") or date.today()
    parsed = parse_moments(moments)
    with ctx.db() as db:
        try:
            task = assign_task(db, user, agent or "", goal or "", day, parsed)
        except ReviewWorkflowError as error:
            return refused(str(error), 2)
    return [_visible_tasks(ctx, user), f"Assigned task #{task.task_id} to {task.agent}."]


def complete(ctx: AppContext, user: User, task_id: float | None, note: str) -> list[Any]:
    """Complete a task: the tasks again and a line saying so."""
    permitted(user, Action.COACH_AGENTS)
    if task_id is None:
        return refused("Give the task # first.", 2)
    with ctx.db() as db:
        try:
            complete_task(db, user, int(task_id), note or "")
        except ReviewWorkflowError as error:
            return refused(str(error), 2)
    return [_visible_tasks(ctx, user), f"Task #{int(task_id)} done."]


def acknowledge(ctx: AppContext, user: User, task_id: float | None) -> list[Any]:
    """The agent acknowledges their task: their tasks again and a line saying so."""
    permitted(user, Action.APPEAL_EVALUATIONS)
    if task_id is None:
        return refused("Give the task # first.", 2)
    with ctx.db() as db:
        try:
            acknowledge_task(db, user, int(task_id))
        except (PermissionDeniedError, ReviewWorkflowError) as error:
            return refused(str(error), 2)
    return [_visible_tasks(ctx, user), f"You acknowledged task #{int(task_id)}."]


def library_view(ctx: AppContext, user: User, topic: str) -> list[Any]:
    """The library (of ``topic``) and the playlists (leads)."""
    permitted(user, Action.COACH_AGENTS)
    with ctx.db() as db:
        return list(library_frames(db, topic))


def keep_call(
    ctx: AppContext, user: User, call_id: str, kind: str, topics: str, note: str, topic: str
) -> list[Any]:
    """Add a call to the library: the library, the playlists and a line saying so."""
    permitted(user, Action.COACH_AGENTS)
    with ctx.db() as db:
        try:
            add_to_library(db, user, (call_id or "").strip(), kind or "good",
                           (topics or "").split(","), note or "")  # fmt: skip
        except ReviewWorkflowError as error:
            return refused(str(error), 3)
        frames = library_frames(db, topic)
    return [*frames, f"Added {call_id.strip()} to the library."]


def make_playlist(ctx: AppContext, user: User, title: str, call_ids: str, topic: str) -> list[Any]:
    """Make a playlist of library calls: the library, the playlists and a line saying so."""
    permitted(user, Action.COACH_AGENTS)
    with ctx.db() as db:
        try:
            made = create_playlist(db, user, title or "", (call_ids or "").split(","))
        except ReviewWorkflowError as error:
            return refused(str(error), 3)
        frames = library_frames(db, topic)
    return [*frames, f"Made playlist #{made.playlist_id} {made.title}."]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Coaching tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_assign(agent: str | None, goal: str, due: str, moments: str,
                  request: gr.Request) -> list[Any]:  # fmt: skip
        return assign(ctx, ctx.viewer(request), agent, goal, due, moments)

    def on_complete(task_id: float | None, note: str, request: gr.Request) -> list[Any]:
        return complete(ctx, ctx.viewer(request), task_id, note)

    def on_ack(task_id: float | None, request: gr.Request) -> list[Any]:
        return acknowledge(ctx, ctx.viewer(request), task_id)

    startup = [w.denied, w.body, w.table, w.lead, w.agent, w.library, w.playlists]
    app.load(on_load, inputs=None, outputs=startup)
    w.assign.click(on_assign, inputs=[w.agent, w.goal, w.due, w.moments],
                   outputs=[w.table, w.message])  # fmt: skip
    w.complete.click(on_complete, inputs=[w.task, w.note], outputs=[w.table, w.message])
    w.acknowledge.click(on_ack, inputs=[w.task], outputs=[w.table, w.message])

    def on_library(topic: str, request: gr.Request) -> list[Any]:
        return library_view(ctx, ctx.viewer(request), topic)

    def on_keep(call_id: str, kind: str, topics: str, note: str, topic: str,
                request: gr.Request) -> list[Any]:  # fmt: skip
        return keep_call(ctx, ctx.viewer(request), call_id, kind, topics, note, topic)

    def on_playlist(title: str, call_ids: str, topic: str, request: gr.Request) -> list[Any]:
        return make_playlist(ctx, ctx.viewer(request), title, call_ids, topic)

    library_out = [w.library, w.playlists]
    w.topic.submit(on_library, inputs=[w.topic], outputs=library_out)
    w.keep.click(on_keep, inputs=[w.library_call, w.kind, w.topics, w.library_note, w.topic],
                 outputs=[*library_out, w.message])  # fmt: skip
    w.make_playlist.click(on_playlist, inputs=[w.playlist_title, w.playlist_calls, w.topic],
                          outputs=[*library_out, w.message])  # fmt: skip
