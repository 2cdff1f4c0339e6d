"""What the review panel of the call view shows one user for one call: where the review stands,
the reviewer's form, as values for the panel's fixed components (:data:`PANEL_OUTPUTS`).

For each item of the call's latest scorecards the reviewer confirms, rejects (pass <-> fail) or
overrides (a verdict and a comment saying why) the machine's verdict, and may add a comment on the
call. The form has a fixed set of components (:data:`MAX_ITEMS` item rows, shown, hidden and
filled by the event that opens a call: :func:`form_values`); after Submit or Next call only the
parts that change are sent (:func:`form_changes`). What the form shows and whether it can be
changed is decided here, on the server, from the user's role and the review
(qa.access.permissions); what the fields hold becomes the reviewer's decisions with
:func:`item_choice`, and submitting checks it all again. Plain functions, testable without a
browser; the components and their events are ui.review_panel.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, tzinfo
from html import escape
from typing import Any

import gradio as gr

from calldata import Verdict
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.call_view import CallDetail
from qa.review.flag_decisions import FlagRow
from qa.review.state import (
    Decision,
    ItemChoice,
    ReviewStatus,
    ReviewWorkflowError,
    check_may_change,
)
from ui.flag_form import FLAG_PARTS, flag_values, form_flags
from ui.render import audit_html, expandable_html, local_time

__all__ = [
    "DECISION_CHOICES",
    "FORM_PARTS",
    "MAX_ITEMS",
    "PANEL_OUTPUTS",
    "PANEL_PARTS",
    "VERDICT_CHOICES",
    "FormItem",
    "ReviewForm",
    "form_changes",
    "form_for",
    "form_values",
    "item_choice",
    "panel_values",
    "status_html",
]

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
    revision: int = 0  # the review's submissions when the form was drawn: a second click sees more
    flags: tuple[FlagRow, ...] = ()  # the call's flags, raised first (ui.flag_form)


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
    revision = detail.review.revision if detail.review else 0
    return ReviewForm(call_id, tuple(items), comment, editable, note, nonce, revision,
                      form_flags(detail.flag_rows))  # fmt: skip


def _dispute_html(detail: CallDetail, zone: tzinfo) -> str:
    """Who disputed the review, when and why (the latest dispute in the audit trail)."""
    disputes = [e for e in detail.audit_trail if e.action == "review.dispute"]
    if not disputes:
        return ""
    last = disputes[-1]
    return (
        f'<div class="qa-dispute" id="qa-dispute-reason">Disputed by <b>{escape(last.actor)}</b> '
        f"{local_time(last.at, zone)}: “{expandable_html(last.reason)}” — change what needs "
        "changing and submit again.</div>"
    )


def status_html(detail: CallDetail | None, zone: tzinfo = UTC) -> str:
    """Where the call's review stands: status, who has it, who submitted it and when (in the
    site's ``zone``), why it is disputed, the queues it is in and why."""
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
                f"{local_time(review.submitted_at, zone)}"
            )
        if review.status is ReviewStatus.DISPUTED:
            text += _dispute_html(detail, zone)
        if review.comment:
            text += f'<div class="qa-reason">Comment: “{expandable_html(review.comment)}”</div>'
    queues = "".join(
        f"<li><b>{escape(queue)}</b>: {escape(reason)}</li>" for queue, reason in detail.queues
    )
    if queues:
        text += f'<ul class="qa-reason">{queues}</ul>'
    return f'<div id="qa-review-state">{text}</div>'


#: the most items one call's form shows (the sample rubrics have 11 and 12)
MAX_ITEMS = 16

#: the form's fixed components (``ReviewPanel.parts``), in the order :func:`form_values` fills them
FORM_PARTS = (
    "note",
    "bar",
    *(
        f"{part}{slot}"
        for slot in range(MAX_ITEMS)
        for part in ("row", "decision", "verdict", "comment")
    ),
    "comment",
    "keys",
    "machine",
    *FLAG_PARTS,  # ui.flag_form's rows
)
#: the panel's own components (ui.review_panel.ReviewPanel's attributes of these names)
PANEL_PARTS = ("status", "claim", "release", "next", "form", "audit")
#: the panel's components, in the order of ``ReviewPanel.outputs`` and :func:`panel_values`
PANEL_OUTPUTS = (*PANEL_PARTS, *FORM_PARTS)


def form_values(form: ReviewForm) -> list[Any]:
    """The fixed form components' updates for ``form``, in :data:`FORM_PARTS` order: one row per
    item (titled, decided, editable or not), the other rows hidden."""
    shown = form.items[:MAX_ITEMS]
    note = form.note
    if len(form.items) > MAX_ITEMS:
        note = (note + " " if note else "") + (
            f"This call has {len(form.items)} items; the form holds {MAX_ITEMS}, so it cannot "
            "be submitted here: ask an admin to split the rubric into rubrics of at most "
            f"{MAX_ITEMS} items."
        )
    editable = form.editable and bool(shown)
    values: list[Any] = [
        gr.Markdown(escape(note), visible=bool(note)),
        gr.Row(visible=editable),
    ]
    for slot in range(MAX_ITEMS):
        if slot >= len(shown):
            values += [gr.Row(visible=False), gr.skip(), gr.skip(), gr.skip()]
            continue
        item = shown[slot]
        critical = " · critical" if item.critical else ""
        choices = [c for c in DECISION_CHOICES
                   if item.machine is not Verdict.NA or c[1] != "rejected"]  # fmt: skip
        values += [
            gr.Row(visible=True, elem_id=f"qa-review-{item.slug}"),
            gr.Radio(choices=choices, value=item.decision.value, interactive=form.editable,
                     label=f"{item.title} — machine: {_LABELS[item.machine]}{critical}",
                     elem_id=f"qa-decision-{item.slug}"),
            gr.Dropdown(VERDICT_CHOICES, value=item.verdict.value, interactive=form.editable,
                        elem_id=f"qa-verdict-{item.slug}"),
            gr.Textbox(value=item.comment, interactive=form.editable,
                       elem_id=f"qa-comment-{item.slug}"),
        ]  # fmt: skip
    values += [
        gr.Textbox(value=form.comment, interactive=form.editable, visible=bool(shown)),
        gr.HTML(visible=editable),
        json.dumps([item.machine.value for item in shown]),
        *flag_values(form.flags, form.editable),
    ]
    return values


#: the form's parts whose value the reviewer changes in the page
_FIELDS = frozenset(
    name
    for name in FORM_PARTS
    if name.startswith(("decision", "verdict", "comment")) or re.fullmatch(r"flag(note)?\d+", name)
)


def _lighter(name: str, new: Any, old: Any) -> Any:
    """The update of form part ``name`` to ``new`` when the page shows ``old``: nothing when
    they are the same, only the value when only it may differ (a field the reviewer edits)."""
    if not isinstance(new, gr.blocks.Block):
        return gr.skip() if isinstance(old, str) and new == old else new
    if type(old) is not type(new):
        return new
    args, was = dict(new.constructor_args), dict(old.constructor_args)
    value, old_value = args.pop("value", None), was.pop("value", None)
    if args != was:
        return new
    if name in _FIELDS:  # the page may hold what the reviewer typed or picked: set it
        return value if "value" in new.constructor_args else gr.skip()
    return gr.skip() if value == old_value else new


def form_changes(form: ReviewForm, before: ReviewForm) -> list[Any]:
    """:func:`form_values` for ``form`` when the page shows ``before`` (the same user's form,
    just submitted or left): parts that look the same are left as they are, and a row that
    keeps its item (the same rubric's next call) gets its values only. Fewer, lighter updates
    for the page to apply after each Submit (docs/ui.md)."""
    return [
        _lighter(name, new, old)
        for name, new, old in zip(FORM_PARTS, form_values(form), form_values(before), strict=True)
    ]


def panel_values(detail: CallDetail | None, user: User, zone: tzinfo = UTC) -> list:
    """The panel's values for ``detail`` as ``user`` sees it, in :data:`PANEL_OUTPUTS` order:
    where the review stands, whether Claim, Release and Next call show, the form, the audit
    trail (times in the site's ``zone``)."""
    form = form_for(detail, user)
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
        status_html(detail, zone),
        gr.Button(visible=may_claim),
        gr.Button(visible=may_release),
        gr.Button(visible=can(user.role, Action.REVIEW_CALLS)),
        form,
        audit_html(detail.audit_trail, zone) if detail is not None else "",
        *form_values(form),
    ]


def _opposite(verdict: Verdict) -> Verdict:
    return {Verdict.PASS: Verdict.FAIL, Verdict.FAIL: Verdict.PASS}.get(verdict, verdict)


def item_choice(item: FormItem, chosen: str | None, verdict: str | None, note: str) -> ItemChoice:
    """What the reviewer decided on ``item`` from the form's fields. A verdict picked in the
    dropdown that the decision does not give (the Override tick forgotten) is an override: the
    reviewer said which verdict counts, and it is not dropped."""
    decision = Decision(chosen or Decision.CONFIRMED.value)
    picked = Verdict(verdict) if verdict else None
    if decision is not Decision.OVERRIDDEN and picked is not None and picked != item.verdict:
        implied = item.machine if decision is Decision.CONFIRMED else _opposite(item.machine)
        if picked != implied:
            decision = Decision.OVERRIDDEN
    chosen_verdict = picked if decision is Decision.OVERRIDDEN else None
    return ItemChoice(item.scorecard_id, item.item_id, decision, chosen_verdict, note or "")
