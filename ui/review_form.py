"""The review panel of the call view: where the review stands, the reviewer's form, the audit trail.

For each item of the call's latest scorecards the reviewer confirms, rejects (pass <-> fail) or
overrides (a verdict and a comment saying why) the machine's verdict, may add a comment on the call,
and submits (qa.review.submit). Claim and Release take the call and give it back
(qa.review.assignment). The form is drawn per call with ``gr.render``; what it shows and whether it
can be changed is decided on the server from the user's role and the review (qa.access.permissions),
and submitting checks it all again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr

from calldata import Verdict
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.assignment import claim, release
from qa.review.call_view import CallDetail, call_detail
from qa.review.state import (
    Decision,
    ItemChoice,
    ReviewStatus,
    ReviewWorkflowError,
    check_may_change,
)
from qa.review.submit import submit_review
from ui.context import AppContext, refused
from ui.render import CSS, audit_html, scorecard_html

__all__ = [
    "PANEL_OUTPUTS",
    "FormItem",
    "ReviewForm",
    "ReviewPanel",
    "form_for",
    "panel_values",
    "status_html",
]

logger = logging.getLogger(__name__)

DECISION_CHOICES = [("Confirm", "confirmed"), ("Reject", "rejected"), ("Override", "overridden")]
VERDICT_CHOICES = [("PASS", "pass"), ("FAIL", "fail"), ("N/A", "na")]
_LABELS = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.NA: "N/A"}


@dataclass(frozen=True)
class FormItem:
    """One item's row in the form, with the decision shown (the submitted one, or confirm)."""

    scorecard_id: int
    rubric_id: str
    item_id: str
    title: str
    critical: bool
    machine: Verdict
    decision: Decision
    verdict: Verdict
    comment: str

    @property
    def slug(self) -> str:
        """``rubric--item`` in the characters an element id may hold."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.rubric_id}--{self.item_id}")


@dataclass(frozen=True)
class ReviewForm:
    """What the form shows for one user and call; ``nonce`` makes each load a new value, so the
    form is drawn again even for the same call."""

    call_id: str | None = None
    items: tuple[FormItem, ...] = ()
    comment: str = ""
    editable: bool = False
    note: str = ""
    nonce: int = 0


def form_for(detail: CallDetail | None, user: User) -> ReviewForm:
    """The form for ``user`` on the call in ``detail`` (None: no call open)."""
    nonce = time.monotonic_ns()
    if detail is None:
        return ReviewForm(note="Open a call to review it.", nonce=nonce)
    call_id = detail.call.call_id
    if not detail.reviewed:
        return ReviewForm(call_id, note="Not scored yet: nothing to review.", nonce=nonce)
    items = []
    for card in detail.reviewed:
        decisions = {d.item_id: d for d in card.decisions}
        for item in card.machine.items:
            decided = decisions.get(item.id)
            items.append(
                FormItem(
                    scorecard_id=card.scorecard_id,
                    rubric_id=card.rubric_id,
                    item_id=item.id,
                    title=item.title or item.id,
                    critical=item.critical,
                    machine=item.result,
                    decision=decided.decision if decided else Decision.CONFIRMED,
                    verdict=decided.verdict if decided else item.result,
                    comment=decided.comment if decided else "",
                )
            )
    editable, note = True, ""
    if not can(user.role, Action.REVIEW_CALLS):
        editable = False
        note = f"Your role ({user.role.value}) does not review calls: the decisions are shown only."
    elif detail.review is not None:
        try:
            check_may_change(detail.review, user)
        except (PermissionDeniedError, ReviewWorkflowError) as refused:
            editable, note = False, str(refused)
    comment = detail.review.comment if detail.review else ""
    return ReviewForm(call_id, tuple(items), comment, editable, note, nonce)


def status_html(detail: CallDetail | None) -> str:
    """Where the call's review stands: status, who has it, the queues it is in and why."""
    if detail is None:
        return ""
    review = detail.review
    if review is None:
        text = "Review: <b>not started</b> (the call is in no queue; anyone who reviews may)"
    else:
        who = f"assigned to <b>{escape(review.assignee)}</b>" if review.assignee else "unassigned"
        text = f'Review: <b data-status="{review.status.value}">{review.status.value}</b>, {who}'
        if review.submitted_by and review.submitted_at:
            text += (
                f" · submitted by {escape(review.submitted_by)} "
                f"{review.submitted_at.strftime('%Y-%m-%d %H:%M')} UTC"
            )
        if review.comment:
            text += f'<div class="qa-reason">Comment: “{escape(review.comment)}”</div>'
    queues = "".join(
        f"<li><b>{escape(queue)}</b>: {escape(reason)}</li>" for queue, reason in detail.queues
    )
    if queues:
        text += f'<ul class="qa-reason">{queues}</ul>'
    return f'<div id="qa-review-state">{text}</div>'


#: the panel's components, in the order of :attr:`ReviewPanel.outputs` and :func:`panel_values`
PANEL_OUTPUTS = ("status", "claim", "release", "form", "audit")


def panel_values(detail: CallDetail | None, user: User) -> list:
    """The panel's values for ``detail`` as ``user`` sees it, in :data:`PANEL_OUTPUTS` order:
    where the review stands, whether Claim and Release show, the form, the audit trail."""
    may_claim = may_release = False
    if detail is not None and detail.reviewed and can(user.role, Action.REVIEW_CALLS):
        review = detail.review
        open_ = review is None or review.status in (ReviewStatus.NEW, ReviewStatus.IN_REVIEW)
        mine = review is not None and review.assignee == user.username
        lead = can(user.role, Action.EDIT_OTHERS_REVIEWS)
        in_review = review is not None and review.status is ReviewStatus.IN_REVIEW
        may_claim = open_ and not (mine and in_review)
        may_release = open_ and review is not None and review.assignee is not None
        may_release = may_release and (mine or lead)
    return [
        status_html(detail),
        gr.Button(visible=may_claim),
        gr.Button(visible=may_release),
        form_for(detail, user),
        audit_html(detail.audit_trail) if detail is not None else "",
    ]


class ReviewPanel:
    """The panel's components, laid out where it is built, and the functions that fill them."""

    def __init__(self, ctx: AppContext, scorecard: gr.HTML) -> None:
        self.ctx = ctx
        self.scorecard = scorecard
        gr.Markdown("### Review")
        self.status = gr.HTML("", elem_id="qa-review-status", css_template=CSS)
        with gr.Row():
            self.claim = gr.Button("Claim", size="sm", elem_id="qa-review-claim", visible=False)
            self.release = gr.Button(
                "Release", size="sm", elem_id="qa-review-release", visible=False
            )
        self.form = gr.State(None)
        self.changed = gr.State(0)  # bumped on every submission: the call list listens
        self._draw()
        with gr.Accordion("Audit trail", open=False, elem_id="qa-audit-trail"):
            self.audit = gr.HTML("", elem_id="qa-audit", css_template=CSS)
        self.claim.click(self._claim, inputs=self.form, outputs=self.outputs)
        self.release.click(self._release, inputs=self.form, outputs=self.outputs)

    @property
    def outputs(self) -> list[Any]:
        return [getattr(self, name) for name in PANEL_OUTPUTS]

    def values(self, detail: CallDetail | None, user: User) -> list:
        """The panel's values for ``detail`` as ``user`` sees it, in :attr:`outputs` order."""
        return panel_values(detail, user)

    def _reload(self, call_id: str, user: User) -> tuple[CallDetail, list]:
        with self.ctx.db() as db:
            detail = call_detail(db, call_id, viewer_role=user.role)
            return detail, self.values(detail, user)

    def _act(
        self, form: ReviewForm | None, request: gr.Request, action: Callable[..., Any]
    ) -> list:
        user = self.ctx.allowed(request, Action.REVIEW_CALLS)
        if form is None or form.call_id is None:
            return refused("Open a call first.", len(self.outputs))
        with self.ctx.db() as db:
            try:
                action(db, form.call_id, user)
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), len(self.outputs))
        return self._reload(form.call_id, user)[1]

    def _claim(self, form: ReviewForm | None, request: gr.Request) -> list:
        return self._act(form, request, claim)

    def _release(self, form: ReviewForm | None, request: gr.Request) -> list:
        return self._act(form, request, release)

    def _submit(
        self,
        form: ReviewForm,
        fields: Sequence[Sequence[Any]],
        comment: str,
        request: gr.Request,
    ) -> list:
        """Submit what the form holds: ``fields`` is (decision, verdict, comment) per item."""
        user = self.ctx.allowed(request, Action.REVIEW_CALLS)
        outputs = len(self.outputs) + 2
        if form.call_id is None or len(fields) != len(form.items):
            return refused("The form is out of date: open the call again.", outputs)
        choices = []
        for item, (chosen, verdict, note) in zip(form.items, fields, strict=True):
            decision = Decision(chosen or Decision.CONFIRMED.value)
            choices.append(
                ItemChoice(
                    item.scorecard_id,
                    item.item_id,
                    decision,
                    Verdict(verdict) if decision is Decision.OVERRIDDEN and verdict else None,
                    note or "",
                )
            )
        with self.ctx.db() as db:
            try:
                review = submit_review(
                    db,
                    form.call_id,
                    user,
                    choices,
                    comment=comment or "",
                    pass_marks=self.ctx.pass_marks,
                )
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), outputs)
        detail, panel = self._reload(form.call_id, user)
        gr.Info(f"Review of call {form.call_id} submitted ({review.status.value}).")
        logger.info("%s submitted call %s from the app", user.username, form.call_id)
        return [scorecard_html(detail.scorecards, detail.reviewed), *panel, time.monotonic_ns()]

    def _draw(self) -> None:
        @gr.render(inputs=[self.form], triggers=[self.form.change])
        def draw(form: ReviewForm | None) -> None:
            if form is None:
                return
            if form.note:
                gr.Markdown(escape(form.note), elem_id="qa-review-note")
            if not form.items:
                return
            fields: list[list[Any]] = [[], [], []]
            for item in form.items:
                with gr.Row(elem_id=f"qa-review-{item.slug}", elem_classes=["qa-review-item"]):
                    critical = " · critical" if item.critical else ""
                    gr.Markdown(
                        f"**{escape(item.title)}**  \nmachine: {_LABELS[item.machine]}{critical}"
                    )
                    choices = [c for c in DECISION_CHOICES
                               if item.machine is not Verdict.NA or c[1] != "rejected"]  # fmt: skip
                    fields[0].append(
                        gr.Radio(choices, value=item.decision.value, label="Decision",
                                 interactive=form.editable, elem_id=f"qa-decision-{item.slug}")
                    )  # fmt: skip
                    fields[1].append(
                        gr.Dropdown(VERDICT_CHOICES, value=item.verdict.value,
                                    label="Verdict (override)", interactive=form.editable,
                                    elem_id=f"qa-verdict-{item.slug}")
                    )  # fmt: skip
                    fields[2].append(
                        gr.Textbox(value=item.comment, label="Comment (required to override)",
                                   interactive=form.editable, elem_id=f"qa-comment-{item.slug}")
                    )  # fmt: skip
            comment = gr.Textbox(
                value=form.comment,
                label="Comment on the call",
                lines=2,
                interactive=form.editable,
                elem_id="qa-review-comment",
            )
            if not form.editable:
                return
            submit = gr.Button("Submit review", variant="primary", elem_id="qa-review-submit")
            rows = list(zip(*fields, strict=True))

            def on_submit(values: dict[Any, Any], request: gr.Request) -> list:
                # A set of inputs arrives as one dict keyed by component, whatever their number.
                chosen = [[values[part] for part in row] for row in rows]
                return self._submit(form, chosen, values[comment], request)

            submit.click(
                on_submit,
                inputs={*fields[0], *fields[1], *fields[2], comment},
                outputs=[self.scorecard, *self.outputs, self.changed],
            )

        self._draw_fn = draw  # keeps the render function referenced with the panel
