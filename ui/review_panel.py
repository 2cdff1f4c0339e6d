"""The review panel of the call view: its components, laid out where the call view is built, and
their events. Claim and Release take the call and give it back (qa.review.assignment); Submit
saves the form (qa.review.submit) and, like Next call, opens the next call to review
(qa.review.next_call) in the whole call view, which the Calls tab hands over
(:meth:`ReviewPanel.opens_calls_in`). Each of these is one round trip, with the calls list in it
(:class:`FollowingLists`). What the panel shows is ui.review_form's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from calldata import Verdict
from qa.access.permissions import Action, PermissionDeniedError
from qa.access.roles import User
from qa.review.assignment import claim, release
from qa.review.call_view import CallDetail, call_detail
from qa.review.next_call import next_call
from qa.review.state import Decision, ReviewStatus, ReviewWorkflowError, get_review
from qa.review.submit import submit_review
from ui.context import AppContext, refused
from ui.flag_form import build_flag_rows, flag_choices
from ui.render import CSS
from ui.review_form import (
    DECISION_CHOICES,
    FORM_PARTS,
    MAX_ITEMS,
    PANEL_OUTPUTS,
    PANEL_PARTS,
    VERDICT_CHOICES,
    ReviewForm,
    form_changes,
    item_choice,
    panel_values,
)

__all__ = ["CONFIRM_ALL_JS", "KEYS_HELP", "FollowingLists", "ReviewPanel"]

logger = logging.getLogger(__name__)


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
    """The panel's components, laid out where it is built, and their events (what the components
    show is ui.review_form's: :meth:`values`).

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
        named = {name: getattr(self, name) for name in PANEL_PARTS}
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
