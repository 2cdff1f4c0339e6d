"""The flag rows of the review form: the reviewer confirms or rejects each flag the machine raised
on the call, and adds one it missed (qa.review.flag_decisions); saved with the review's Submit.

Like the item rows (built by ui.review_panel, filled by ui.review_form), the rows are built once:
:data:`MAX_FLAGS` of them, hidden, shown and filled by the event that opens a call
(:func:`flag_values`, in :data:`FLAG_PARTS` order), each row's element ids switched to the flag's
(``qa-flag-<rubric>--<flag>``). The raised flags come first; a flag not raised offers "Add (the
machine missed it)". What the fields hold becomes :class:`FlagChoice` values with
:func:`flag_choices`; the server checks them again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import gradio as gr

from qa.review.flag_decisions import FlagChoice, FlagDecisionKind, FlagRow

__all__ = [
    "FLAG_PARTS",
    "MAX_FLAGS",
    "build_flag_rows",
    "flag_choices",
    "flag_slug",
    "flag_values",
    "form_flags",
]

#: the most flags one call's form shows (the sample rubrics have 3 each)
MAX_FLAGS = 6
NOT_ADDED = "none"
RAISED_CHOICES = [("Confirm", FlagDecisionKind.CONFIRMED.value),
                  ("Reject", FlagDecisionKind.REJECTED.value)]  # fmt: skip
MISSED_CHOICES = [("Not on this call", NOT_ADDED),
                  ("Add (the machine missed it)", FlagDecisionKind.ADDED.value)]  # fmt: skip

#: the flag rows' components, in the order :func:`flag_values` fills them
FLAG_PARTS = (
    "flags_head",
    *(f"{part}{slot}" for slot in range(MAX_FLAGS) for part in ("flagrow", "flag", "flagnote")),
)


def flag_slug(row: FlagRow) -> str:
    """``rubric--flag`` in the characters an element id may hold."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{row.rubric_id}--{row.flag_id}")


def form_flags(rows: Sequence[FlagRow]) -> tuple[FlagRow, ...]:
    """The call's flag rows in the form's order: raised ones first (they need a decision)."""
    return tuple(sorted(rows, key=lambda row: not row.raised))


def _label(row: FlagRow) -> str:
    if not row.raised:
        return f"Flag “{row.title}” — machine: not raised"
    guess = " on a guess (words heard approximately)" if row.hint else ""
    return f"Flag “{row.title}” — machine: raised ({row.severity}){guess}"


def flag_values(rows: Sequence[FlagRow], editable: bool) -> list[Any]:
    """The flag rows' updates in :data:`FLAG_PARTS` order: one row per flag (the decision
    submitted, else confirm for a raised flag and nothing for another), the others hidden."""
    shown = rows[:MAX_FLAGS]
    more = len(rows) - len(shown)
    head = "**Flags**: confirm or reject what the machine raised; add what it missed."
    if more:
        head += f" ({more} more not shown: their last decision stands, else confirmed.)"
    # the heading is always laid out; a call without flags leaves it empty
    values: list[Any] = [head if shown else ""]
    for slot in range(MAX_FLAGS):
        if slot >= len(shown):
            values += [gr.Row(visible=False), gr.skip(), gr.skip()]
            continue
        row = shown[slot]
        slug = flag_slug(row)
        if row.raised:
            choices, value = RAISED_CHOICES, (row.decision or FlagDecisionKind.CONFIRMED).value
        else:
            choices, value = MISSED_CHOICES, row.decision.value if row.decision else NOT_ADDED
        values += [
            gr.Row(visible=True, elem_id=f"qa-flagrow-{slug}"),
            gr.Radio(choices=choices, value=value, label=_label(row),
                     interactive=editable, elem_id=f"qa-flag-{slug}"),
            gr.Textbox(value=row.comment, interactive=editable, elem_id=f"qa-flagnote-{slug}"),
        ]  # fmt: skip
    return values


def flag_choices(rows: Sequence[FlagRow], fields: Sequence[Sequence[Any]]) -> list[FlagChoice]:
    """What the reviewer decided from the rows' ``fields`` (decision, comment per shown row):
    a raised flag confirmed unless rejected, an added one when "Add" is picked; rows past
    :data:`MAX_FLAGS` keep their last decision (a raised one: confirmed)."""
    choices: list[FlagChoice] = []
    for index, row in enumerate(rows):
        if index < len(fields):
            picked, note = fields[index][0], fields[index][1] or ""
        else:
            picked, note = (row.decision.value if row.decision else None), row.comment
        if row.raised:
            decision = FlagDecisionKind(picked or FlagDecisionKind.CONFIRMED.value)
        elif picked == FlagDecisionKind.ADDED.value:
            decision = FlagDecisionKind.ADDED
        else:
            continue  # not on this call
        choices.append(FlagChoice(row.scorecard_id, row.flag_id, decision, note))
    return choices


def build_flag_rows(parts: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Lay out the heading and :data:`MAX_FLAGS` hidden flag rows in the current Blocks context,
    into ``parts`` under :data:`FLAG_PARTS`' names; the (decision, comment) of each row."""
    parts["flags_head"] = gr.Markdown("", elem_id="qa-flags-head")
    rows: list[tuple[Any, Any]] = []
    for slot in range(MAX_FLAGS):
        with gr.Row(visible=False, elem_id=f"qa-flagrow-slot{slot}",
                    elem_classes=["qa-review-flag"]) as parts[f"flagrow{slot}"]:  # fmt: skip
            radio = gr.Radio(RAISED_CHOICES, value=None, elem_id=f"qa-flag-slot{slot}")
            note = gr.Textbox(label="Comment on the flag (optional)",
                              elem_id=f"qa-flagnote-slot{slot}")  # fmt: skip
        parts[f"flag{slot}"], parts[f"flagnote{slot}"] = radio, note
        rows.append((radio, note))
    return rows
