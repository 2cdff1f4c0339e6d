"""The review panel of the call view: where the review stands, the reviewer's form, the audit trail.

For each item of the call's latest scorecards the reviewer confirms, rejects (pass <-> fail) or
overrides (a verdict and a comment saying why) the machine's verdict, may add a comment on the call,
and submits (qa.review.submit). Claim and Release take the call and give it back
(qa.review.assignment). The form is built once with a fixed set of components (MAX_ITEMS item
rows, shown, hidden and filled by the event that opens a call, so Submit → next call is one round
trip, with the calls list in it and only the parts that change: :func:`form_changes`); what it
shows and whether it can be changed is decided on the server from the user's role and the
review (qa.access.permissions), and submitting checks it all again.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import partial
from html import escape
from typing import Any

import gradio as gr

from calldata import Verdict
from qa.access.permissions import Action, PermissionDeniedError, can
from qa.access.roles import User
from qa.review.assignment import claim, release
from qa.review.call_view import CallDetail, call_detail
from qa.review.flag_decisions import FlagRow
from qa.review.next_call import next_call
from qa.review.state import (
    Decision,
    ItemChoice,
    ReviewStatus,
    ReviewWorkflowError,
    check_may_change,
    get_review,
)
from qa.review.submit import submit_review
from ui.context import AppContext, refused
from ui.flag_form import FLAG_PARTS, build_flag_rows, flag_choices, flag_values, form_flags
from ui.render import CSS, audit_html, expandable_html, local_time

__all__ = [
    "FORM_PARTS",
    "MAX_ITEMS",
    "PANEL_OUTPUTS",
    "FollowingLists",
    "FormItem",
    "ReviewForm",
    "ReviewPanel",
    "form_changes",
    "form_for",
    "form_values",
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

#: the form's fixed components (ReviewPanel.parts), in the order :func:`form_values` fills them
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
_NAMED = ("status", "claim", "release", "next", "form", "audit")
#: the panel's components, in the order of :attr:`ReviewPanel.outputs` and :func:`panel_values`
PANEL_OUTPUTS = (*_NAMED, *FORM_PARTS)


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


#: the keys of the review desk, shown under the form (ui.render.KEYS_JS implements them)
KEYS_HELP = (
    "Keys: <kbd>Space</kbd> play/pause · <kbd>←</kbd>/<kbd>→</kbd> 5 s back/forward · "
    "<kbd>[</kbd>/<kbd>]</kbd> slower/faster · <kbd>↓</kbd>/<kbd>↑</kbd> next/previous item · "
    "<kbd>c</kbd> confirm · <kbd>r</kbd> reject · <kbd>o</kbd> override · <kbd>a</kbd> confirm "
    "all · <kbd>s</kbd> submit · <kbd>n</kbd> next call"
)


#: Confirm all, in the browser: every row confirmed, its verdict the machine's (the page holds
#: the machine's verdicts as JSON in a hidden field, filled when the call opens)
CONFIRM_ALL_JS = (
    "(m) => { const v = JSON.parse(m || '[]'); const n = MAX_ITEMS; "
    "return [...Array(n).fill('confirmed'), ...Array.from({length: n}, (_, i) => v[i] || 'na')]; }"
).replace("MAX_ITEMS", str(MAX_ITEMS))


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


def _is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value == gr.skip()


@dataclass(frozen=True)
class FollowingLists:
    """Lists that show what each claim, release and submission changes (the calls list),
    filled by the same round trip as the call view: a second event per action cost the page
    about as much as the call itself (docs/ui.md). ``values(user, *inputs)`` gives the values
    of ``outputs``."""

    outputs: Sequence[Any]
    inputs: Sequence[Any]
    values: Callable[..., list[Any]]


class ReviewPanel:
    """The panel's components, laid out where it is built, and the functions that fill them.

    Submit and Next call open the next call in the whole call view, which the Calls tab hands
    over with :meth:`opens_calls_in` once it is laid out."""

    def __init__(self, ctx: AppContext, scorecard: gr.HTML) -> None:
        self.ctx = ctx
        self.scorecard = scorecard
        self.view: list[Any] = []
        self._open: Callable[[User, str | None], list[Any]] | None = None
        self.status = gr.HTML("", elem_id="qa-review-status", css_template=CSS)
        with gr.Row(elem_classes=["qa-review-buttons"]):
            self.claim = gr.Button("Claim", size="sm", elem_id="qa-review-claim", visible=False)
            self.release = gr.Button(
                "Release", size="sm", elem_id="qa-review-release", visible=False
            )
            self.next = gr.Button("Next call ▶", size="sm", elem_id="qa-review-next", visible=False)
        self.form = gr.State(None)
        self.changed = gr.State(0)  # bumped on every change of a review: the lists listen
        self.parts: dict[str, Any] = {}
        self._build_form()
        with gr.Accordion("Audit trail", open=False, elem_id="qa-audit-trail"):
            self.audit = gr.HTML("", elem_id="qa-audit", css_template=CSS)

    @property
    def outputs(self) -> list[Any]:
        named = {name: getattr(self, name) for name in PANEL_OUTPUTS[: len(_NAMED)]}
        return [named.get(name) or self.parts[name] for name in PANEL_OUTPUTS]

    def opens_calls_in(
        self,
        view: list[Any],
        open_call: Callable[[User, str | None], list[Any]],
        lists: FollowingLists | None = None,
    ) -> None:
        """Where Submit and Next call open the next call: the call view's ``view`` outputs,
        filled by ``open_call(user, call_id)``; ``lists`` follow every claim, release and
        submission in the same round trip. Wires Claim, Release, Next call and Submit."""
        self.view, self._open = view, open_call
        lists = lists or FollowingLists((), (), lambda user, *inputs: [])
        rows, comment = self._rows, self.parts["comment"]

        def following(
            handler: Callable[[dict[Any, Any], gr.Request], list],
        ) -> Callable[[dict[Any, Any], gr.Request], list]:
            def with_lists(values: dict[Any, Any], request: gr.Request) -> list:
                done = handler(values, request)
                if all(_is_skip(value) for value in done):  # refused: the page as it was
                    return [*done, *[gr.skip()] * len(lists.outputs)]
                shown = lists.values(self.ctx.viewer(request), *(values[i] for i in lists.inputs))
                return [*done, *shown]

            # named as the handler it runs, so the event can be found by it (tests/gradio_api.py)
            with_lists.__name__ = getattr(handler, "__name__", with_lists.__name__)
            return with_lists

        # Progress shows on the status line or the call's title only (ui.calls.build_tab).
        acted, moved = [*self.outputs, self.changed], [*view, self.changed]
        read = {self.form, *lists.inputs}
        for button, action, outputs in (
            (self.claim, self._claim, acted),
            (self.release, self._release, acted),
            (self.next, self._next, moved),
        ):
            button.click(
                following(partial(self._with_form, action)),
                inputs=read,
                outputs=[*outputs, *lists.outputs],
                show_progress_on=outputs[0],
            )

        def on_submit(values: dict[Any, Any], request: gr.Request) -> list:
            # A set of inputs arrives as one dict keyed by component, whatever their number.
            user = self.ctx.allowed(request, Action.REVIEW_CALLS)
            form = values[self.form]
            if form is None or form.call_id is None:
                return refused("Open a call first.", len(self.view) + 1)
            chosen = [[values[part] for part in row] for row in rows[: len(form.items)]]
            flagged = [[values[part] for part in row] for row in flag_rows[: len(form.flags)]]
            return self.submit(user, form, chosen, values[comment], flagged)

        flag_rows = self._flag_rows
        fields = [*(part for row in rows for part in row), *(p for row in flag_rows for p in row)]
        self._submit.click(
            following(on_submit),
            inputs={*read, *fields, comment},
            outputs=[*moved, *lists.outputs],
            show_progress_on=view[0],
        )

    def _with_form(
        self,
        action: Callable[[ReviewForm | None, gr.Request], list],
        values: dict[Any, Any],
        request: gr.Request,
    ) -> list:
        return action(values[self.form], request)

    def values(self, detail: CallDetail | None, user: User) -> list:
        """The panel's values for ``detail`` as ``user`` sees it, in :attr:`outputs` order."""
        return panel_values(detail, user, self.ctx.zone)

    def _reload(self, call_id: str, user: User) -> tuple[CallDetail, list]:
        with self.ctx.db() as db:
            detail = call_detail(db, call_id, viewer_role=user.role)
            return detail, self.values(detail, user)

    def _act(
        self, form: ReviewForm | None, request: gr.Request, action: Callable[..., Any]
    ) -> list:
        user = self.ctx.allowed(request, Action.REVIEW_CALLS)
        if form is None or form.call_id is None:
            return refused("Open a call first.", len(self.outputs) + 1)
        with self.ctx.db() as db:
            try:
                action(db, form.call_id, user)
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), len(self.outputs) + 1)
        return [*self._reload(form.call_id, user)[1], time.monotonic_ns()]

    def _claim(self, form: ReviewForm | None, request: gr.Request) -> list:
        return self._act(form, request, claim)

    def _release(self, form: ReviewForm | None, request: gr.Request) -> list:
        return self._act(form, request, release)

    def open_next(
        self, user: User, after: str | None, before: ReviewForm | None = None
    ) -> tuple[str | None, list[Any]]:
        """The next call ``user`` should review (qa.review.next_call), claimed for them when
        nobody has it, opened in the call view; None and the call ``after`` again when no call
        is left. ``before``: the form the page shows now, so only what changes is sent
        (:func:`form_changes`)."""
        assert self._open is not None, "the Calls tab hands the call view over when laid out"
        with self.ctx.db() as db:
            found = next_call(db, user, after=after)
            if found is not None:
                review = get_review(db, found)
                if review is None or (review.status is ReviewStatus.NEW and not review.assignee):
                    try:
                        claim(db, found, user)
                    except (ReviewWorkflowError, PermissionDeniedError) as taken:
                        logger.info("next call %s not claimed: %s", found, taken)
        view = self._open(user, found or after)
        if before is None:
            return found, view
        at = next(i for i, part in enumerate(self.view) if part is self.parts[FORM_PARTS[0]])
        form = view[next(i for i, part in enumerate(self.view) if part is self.form)]
        if not isinstance(form, ReviewForm):
            return found, view
        return found, [*view[:at], *form_changes(form, before), *view[at + len(FORM_PARTS) :]]

    def _next(self, form: ReviewForm | None, request: gr.Request) -> list:
        user = self.ctx.allowed(request, Action.REVIEW_CALLS)
        after = form.call_id if form else None
        found, view = self.open_next(user, after, form)
        if found is None:
            return refused("Nothing left to review: your worklist and the queues are done.",
                           len(self.view) + 1)  # fmt: skip
        return [*view, time.monotonic_ns()]

    def submit(
        self,
        user: User,
        form: ReviewForm,
        fields: Sequence[Sequence[Any]],
        comment: str,
        flag_fields: Sequence[Sequence[Any]] = (),
    ) -> list:
        """Submit what the form holds (``fields``: decision, verdict, comment per item;
        ``flag_fields``: decision, comment per flag row, ui.flag_form) as ``user``, then open
        the next call; the values of the call view and the change mark. A refusal (or a second
        click on a form already submitted) changes nothing and says why."""
        outputs = len(self.view) + 1
        if len(form.items) > MAX_ITEMS:
            return refused(
                f"This call has {len(form.items)} items and the form holds {MAX_ITEMS}: ask an "
                "admin to split the rubric.",
                outputs,
            )
        if form.call_id is None or len(fields) != len(form.items):
            return refused("The form is out of date: open the call again.", outputs)
        choices = [
            item_choice(item, chosen, verdict, note)
            for item, (chosen, verdict, note) in zip(form.items, fields, strict=True)
        ]
        with self.ctx.db() as db:
            current = get_review(db, form.call_id)
            if current is not None and current.revision != form.revision:
                return refused(
                    f"This review was just submitted (by {current.submitted_by}); "
                    "it is saved once.",
                    outputs,
                )
            try:
                review = submit_review(
                    db,
                    form.call_id,
                    user,
                    choices,
                    comment=comment or "",
                    pass_marks=self.ctx.pass_marks,
                    flags=flag_choices(form.flags, flag_fields),
                )
            except (ReviewWorkflowError, PermissionDeniedError) as refusal:
                return refused(str(refusal), outputs)
        logger.info("%s submitted call %s from the app", user.username, form.call_id)
        found, view = self.open_next(user, form.call_id, form)
        after = f"next: call {found}" if found else "nothing left to review"
        gr.Info(f"Review of call {form.call_id} submitted ({review.status.value}); {after}.")
        return [*view, time.monotonic_ns()]

    def _build_form(self) -> None:
        """The form's fixed components: a note, the Submit/Confirm all bar, :data:`MAX_ITEMS`
        item rows (hidden until a call fills them), the call's comment and the keys. They are
        filled by the same event that opens a call (:func:`form_values`), so Submit → the next
        call's form ready is one round trip."""
        parts = self.parts
        parts["note"] = gr.Markdown("", elem_id="qa-review-note", visible=False)
        with gr.Row(elem_classes=["qa-review-bar"], visible=False) as parts["bar"]:
            submit = gr.Button("Submit review", variant="primary", size="sm",
                               elem_id="qa-review-submit")  # fmt: skip
            confirm_all = gr.Button("Confirm all", size="sm", elem_id="qa-review-confirm-all")
        rows: list[tuple[Any, Any, Any]] = []
        for slot in range(MAX_ITEMS):
            with gr.Row(visible=False, elem_id=f"qa-review-slot{slot}",
                        elem_classes=["qa-review-item"]) as parts[f"row{slot}"]:  # fmt: skip
                radio = gr.Radio(DECISION_CHOICES, value=Decision.CONFIRMED.value,
                                 elem_id=f"qa-decision-slot{slot}")  # fmt: skip
                dropdown = gr.Dropdown(VERDICT_CHOICES, value=Verdict.NA.value,
                                       label="Verdict (override)",
                                       elem_id=f"qa-verdict-slot{slot}")  # fmt: skip
                note = gr.Textbox(label="Comment (required to override)",
                                  elem_id=f"qa-comment-slot{slot}")  # fmt: skip
            parts[f"decision{slot}"], parts[f"verdict{slot}"] = radio, dropdown
            parts[f"comment{slot}"] = note
            rows.append((radio, dropdown, note))
            # Picking a verdict is overriding: the tick follows (the server agrees).
            dropdown.input(None, inputs=None, outputs=radio, js="() => 'overridden'")
        self._flag_rows = build_flag_rows(parts)  # ui.flag_form: the call's flags
        parts["comment"] = gr.Textbox("", label="Comment on the call", lines=2, visible=False,
                                      elem_id="qa-review-comment")  # fmt: skip
        parts["keys"] = gr.HTML(KEYS_HELP, elem_id="qa-keys-help", css_template=CSS,
                                visible=False)  # fmt: skip
        # The machine's verdicts, in the page for Confirm all: no round trip for what it knows.
        parts["machine"] = gr.Textbox("[]", visible="hidden", elem_id="qa-review-machine")
        radios, dropdowns = [r[0] for r in rows], [r[1] for r in rows]
        confirm_all.click(None, inputs=parts["machine"], outputs=[*radios, *dropdowns],
                          js=CONFIRM_ALL_JS)  # fmt: skip
        self._submit, self._rows = submit, rows
