"""The Calibration tab: reviewers score the same calls blind; supervisors read the agreement.

A supervisor (``run_calibration``) starts a session (a title, the calls, at least two reviewers),
reads its report (per rubric item: the share of reviewer pairs agreeing, Fleiss' kappa, the
machine against the consensus; each reviewer's deviation from the consensus) and records the
agreed answer per item. A reviewer of the session sees only the items to score and their own
verdicts: never the machine's, never the others' (qa.review.calibration). Calibration never
counts in agent records.

:func:`layout` places the components; the handlers (``load``, ``open_session``, ``save_verdict``,
``start``, ``answer``) are plain functions of the context, the user and the inputs.
Run alone for a look: ``python -m ui var/demo.db --tabs calibration`` (login as with ``qa serve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from calldata import Verdict
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.assignment import reviewers
from qa.review.calibration import (
    CalibrationReport,
    blind_items,
    calibration_report,
    create_session,
    list_sessions,
    record_answer,
    score_items,
)
from qa.review.state import ReviewWorkflowError
from ui.context import AppContext, permitted, refused
from ui.render import CSS, denied_html

logger = logging.getLogger(__name__)

ITEM_HEADERS = ["Call", "Rubric", "Item", "Your verdict"]
REPORT_HEADERS = ["Item", "Calls", "Agreement", "Fleiss' kappa", "Machine = consensus",
                  "Consensus", "Agreed answer"]  # fmt: skip
DENIED = "Calibration is for reviewers of a session and for supervisors."
_VERDICTS = [v.value for v in Verdict]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _kappa(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2) + 0.0:.2f}"  # never "-0.00"


def _verdicts(found: dict) -> str:
    return ", ".join(f"{call}: {v.value if v else 'tie'}" for call, v in found.items())


def report_frame(report: CalibrationReport | None) -> pd.DataFrame:
    rows = [] if report is None else [
        [i.rule, i.calls, _percent(i.agreement), _kappa(i.kappa),
         _percent(i.machine_agreement), _verdicts(i.consensus), _verdicts(i.answers) or "-"]
        for i in report.items
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=REPORT_HEADERS)


def report_summary(report: CalibrationReport) -> str:
    kappa = _kappa(report.kappa)
    lines = [f"**{report.session.title}**: overall Fleiss' kappa {kappa}."]
    for name in report.session.reviewers:
        lines.append(f"- {name}: scored {report.scored[name]}/{report.total_items}, off the "
                     f"consensus {_percent(report.deviation[name])}")  # fmt: skip
    return "\n".join(lines)


@dataclass(frozen=True)
class CalibrationWidgets:
    """The Calibration tab's components."""

    denied: gr.HTML
    body: gr.Column
    session: gr.Dropdown
    items: gr.Dataframe
    item: gr.Dropdown
    verdict: gr.Radio
    save: gr.Button
    rest: gr.Button  # the chosen verdict for every item the reviewer has not scored yet
    note: gr.Markdown
    lead: gr.Column
    title: gr.Textbox
    calls: gr.Textbox
    people: gr.Dropdown
    start_button: gr.Button
    summary: gr.Markdown
    report: gr.Dataframe
    answer_item: gr.Dropdown
    answer_verdict: gr.Radio
    answer_comment: gr.Textbox
    answer_button: gr.Button


def layout() -> CalibrationWidgets:
    """Lay out the Calibration tab inside the current Blocks context (hidden until it loads)."""
    denied = gr.HTML(elem_id="qa-calibration-denied", css_template=CSS)
    with gr.Column(visible=False, elem_id="qa-calibration") as body:
        session = gr.Dropdown(label="Session", choices=[], elem_id="qa-cal-session")
        gr.Markdown("### Score blind")
        items = gr.Dataframe(
            value=pd.DataFrame([], columns=ITEM_HEADERS), headers=ITEM_HEADERS,
            interactive=False, elem_id="qa-cal-items",
            label="Your items (the machine's and the others' verdicts are hidden)",
        )  # fmt: skip
        with gr.Row():
            item = gr.Dropdown(label="Item", choices=[], elem_id="qa-cal-item", scale=3)
            verdict = gr.Radio(_VERDICTS, label="Your verdict", elem_id="qa-cal-verdict", scale=2)
            save = gr.Button("Save", scale=1, elem_id="qa-cal-save")
            rest = gr.Button("Give the rest this verdict", scale=1, elem_id="qa-cal-rest")
        note = gr.Markdown(elem_id="qa-cal-note")
        with gr.Column(visible=False, elem_id="qa-cal-lead") as lead:
            gr.Markdown("### Supervisor")
            with gr.Row():
                title = gr.Textbox(label="New session title", scale=1)
                calls = gr.Textbox(label="Call ids (comma-separated)", scale=2)
                people = gr.Dropdown(label="Reviewers", choices=[], multiselect=True, scale=2)
                start_button = gr.Button("Start session", scale=1, elem_id="qa-cal-start")
            summary = gr.Markdown(elem_id="qa-cal-summary")
            report = gr.Dataframe(value=report_frame(None), headers=REPORT_HEADERS,
                                  interactive=False, elem_id="qa-cal-report",
                                  label="Agreement per item")  # fmt: skip
            with gr.Row():
                answer_item = gr.Dropdown(label="Item of a call", choices=[], scale=3)
                answer_verdict = gr.Radio(_VERDICTS, label="Agreed answer", scale=2)
                answer_comment = gr.Textbox(label="Why", scale=3)
                answer_button = gr.Button("Record", scale=1, elem_id="qa-cal-answer")
    return CalibrationWidgets(denied, body, session, items, item, verdict, save, rest, note, lead,
                              title, calls, people, start_button, summary, report, answer_item,
                              answer_verdict, answer_comment, answer_button)  # fmt: skip


def _may_use(user: User) -> bool:
    return can(user.role, Action.RUN_CALIBRATION) or can(user.role, Action.REVIEW_CALLS)


def load(ctx: AppContext, user: User) -> list[Any]:
    """The notice for roles without calibration, else the sessions (a reviewer: theirs), and
    the supervisor's tools with the reviewers to pick."""
    if not _may_use(user):
        return [denied_html(DENIED), gr.Column(visible=False), gr.skip(), gr.skip(), gr.skip()]
    lead = can(user.role, Action.RUN_CALIBRATION)
    with ctx.db() as db:
        sessions = list_sessions(db, user)
        names = [u.username for u in reviewers(db)] if lead else []
    choices = [(f"#{s.session_id} {s.title}", s.session_id) for s in sessions]
    return ["", gr.Column(visible=True), gr.Dropdown(choices=choices, value=None),
            gr.Column(visible=lead), gr.Dropdown(choices=names) if lead else gr.skip()]  # fmt: skip


def open_session(ctx: AppContext, user: User, session_id: int | None) -> list[Any]:
    """For a reviewer of the session, their blind items; for a supervisor, the report and the
    items to record an answer for."""
    empty = pd.DataFrame([], columns=ITEM_HEADERS)
    if session_id is None:
        return [empty, gr.Dropdown(choices=[]), "", report_frame(None), gr.Dropdown(choices=[])]
    if not _may_use(user):
        permitted(user, Action.RUN_CALIBRATION)
    frame, choices = empty, []
    with ctx.db() as db:
        try:
            blind = blind_items(db, user, session_id)
            frame = pd.DataFrame(
                [[i.call_id, i.rubric_id, i.title, i.mine.value if i.mine else ""] for i in blind],
                columns=ITEM_HEADERS,
            )
            choices = [(f"{i.call_id} · {i.rubric_id}/{i.title}", i.key) for i in blind]
        except PermissionDeniedError:
            if not can(user.role, Action.RUN_CALIBRATION):
                raise gr.Error(f"you are not a reviewer of session #{session_id}") from None
        except ReviewWorkflowError as error:
            raise gr.Error(str(error)) from None
        if not can(user.role, Action.RUN_CALIBRATION):
            return [frame, gr.Dropdown(choices=choices, value=None), "", gr.skip(), gr.skip()]
        report = calibration_report(db, user, session_id)
    answer_choices = [
        (f"{call} · {i.rule}", f"{call}|{i.rubric_id}|{i.item_id}")
        for i in report.items
        for call in i.machine
    ]
    return [frame, gr.Dropdown(choices=choices, value=None), report_summary(report),
            report_frame(report), gr.Dropdown(choices=answer_choices, value=None)]  # fmt: skip


def save_verdict(
    ctx: AppContext, user: User, session_id: int | None, key: str | None, verdict: str | None
) -> list[Any]:
    """Save the reviewer's verdict on one item: their items again and a line saying so."""
    permitted(user, Action.REVIEW_CALLS)
    if session_id is None or not key or not verdict:
        return refused("Choose the session, the item and your verdict first.", 2)
    card_id, _, item_id = key.partition(":")
    with ctx.db() as db:
        try:
            score_items(db, user, session_id, {(int(card_id), item_id): verdict})
        except (PermissionDeniedError, ReviewWorkflowError, ValueError) as error:
            return refused(str(error), 2)
    frame = open_session(ctx, user, session_id)[0]
    done = sum(1 for value in frame["Your verdict"] if value)
    return [frame, f"Saved. You have scored {done} of {len(frame)} item(s)."]


def save_rest(
    ctx: AppContext, user: User, session_id: int | None, verdict: str | None
) -> list[Any]:
    """Give ``verdict`` to every item of the session the reviewer has not scored yet (most
    items of a good call pass: score the exceptions one by one, then the rest at once)."""
    permitted(user, Action.REVIEW_CALLS)
    if session_id is None or not verdict:
        return refused("Choose the session and your verdict first.", 2)
    with ctx.db() as db:
        try:
            left = [i for i in blind_items(db, user, session_id) if i.mine is None]
            score_items(db, user, session_id,
                        {(i.scorecard_id, i.item_id): verdict for i in left})  # fmt: skip
        except (PermissionDeniedError, ReviewWorkflowError, ValueError) as error:
            return refused(str(error), 2)
    frame = open_session(ctx, user, session_id)[0]
    done = sum(1 for value in frame["Your verdict"] if value)
    return [frame, f"Saved {verdict} on {len(left)} item(s). You have scored {done} of "
                   f"{len(frame)} item(s)."]  # fmt: skip


def start(
    ctx: AppContext, user: User, title: str, calls: str, people: list[str] | None
) -> list[Any]:
    """Start a session: the sessions again (the new one chosen) and a line saying so."""
    permitted(user, Action.RUN_CALIBRATION)
    with ctx.db() as db:
        try:
            session = create_session(db, user, title or "", (calls or "").split(","), people or [])
        except (PermissionDeniedError, ReviewWorkflowError) as error:
            return refused(str(error), 2)
        sessions = list_sessions(db, user)
    choices = [(f"#{s.session_id} {s.title}", s.session_id) for s in sessions]
    return [gr.Dropdown(choices=choices, value=session.session_id),
            f"Started session #{session.session_id}: {len(session.call_ids)} call(s), "
            f"reviewers {', '.join(session.reviewers)}."]  # fmt: skip


def answer(
    ctx: AppContext,
    user: User,
    session_id: int | None,
    key: str | None,
    verdict: str | None,
    comment: str,
) -> list[Any]:
    """Record the agreed answer for one item of one call: the summary and report again."""
    permitted(user, Action.RUN_CALIBRATION)
    if session_id is None or not key or not verdict:
        return refused("Choose the session, the item and the agreed answer first.", 2)
    call_id, rubric_id, item_id = key.split("|")
    with ctx.db() as db:
        card = db.execute(
            "select k.scorecard_id from calibration_cards k join scorecards s "
            "on s.id = k.scorecard_id where k.session_id = ? and k.call_id = ? "
            "and s.rubric_id = ?",
            [session_id, call_id, rubric_id],
        ).fetchone()
        try:
            record_answer(db, user, session_id, card[0] if card else -1, item_id, verdict,
                          comment or "")  # fmt: skip
        except ReviewWorkflowError as error:
            return refused(str(error), 2)
        report = calibration_report(db, user, session_id)
    return [report_summary(report), report_frame(report)]


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Calibration tab inside the current Blocks context and wire its events."""
    w = layout()

    def on_load(request: gr.Request) -> list[Any]:
        return load(ctx, ctx.viewer(request))

    def on_session(session_id: int | None, request: gr.Request) -> list[Any]:
        return open_session(ctx, ctx.viewer(request), session_id)

    def on_save(session_id: int | None, key: str | None, verdict: str | None,
                request: gr.Request) -> list[Any]:  # fmt: skip
        return save_verdict(ctx, ctx.viewer(request), session_id, key, verdict)

    def on_rest(session_id: int | None, verdict: str | None, request: gr.Request) -> list[Any]:
        return save_rest(ctx, ctx.viewer(request), session_id, verdict)

    def on_start(title: str, calls: str, people: list[str] | None,
                 request: gr.Request) -> list[Any]:  # fmt: skip
        return start(ctx, ctx.viewer(request), title, calls, people)

    def on_answer(session_id: int | None, key: str | None, verdict: str | None, comment: str,
                  request: gr.Request) -> list[Any]:  # fmt: skip
        return answer(ctx, ctx.viewer(request), session_id, key, verdict, comment)

    view = [w.items, w.item, w.summary, w.report, w.answer_item]
    app.load(on_load, inputs=None, outputs=[w.denied, w.body, w.session, w.lead, w.people])
    w.session.change(on_session, inputs=[w.session], outputs=view)
    w.save.click(on_save, inputs=[w.session, w.item, w.verdict], outputs=[w.items, w.note])
    w.rest.click(on_rest, inputs=[w.session, w.verdict], outputs=[w.items, w.note])
    w.start_button.click(on_start, inputs=[w.title, w.calls, w.people],
                         outputs=[w.session, w.note])  # fmt: skip
    answer_inputs = [w.session, w.answer_item, w.answer_verdict, w.answer_comment]
    w.answer_button.click(on_answer, inputs=answer_inputs, outputs=[w.summary, w.report])
