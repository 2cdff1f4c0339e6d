"""The review form's flag rows (ui.flag_form) and the Rules tab's flag table, through the handlers
called directly (issue 17): a reviewer rejects the machine's complaint flag and adds one it
missed, saved with Submit (once, however often it is clicked); roles that do not review cannot
decide flags; the Rules tab counts the decisions and lists the calls behind them.

The store is tests/review_store.py's: the complaint call (Bob, 1763655760.42) has the machine's
``complaint`` flag; Alice's good call (1763651705.11) has none, so ``complaint`` is one to add.
The form is laid out in a real gr.Blocks (tests/ui/test_desk_handlers.py's ``desk`` fixture).
"""

from __future__ import annotations

from dataclasses import replace

import gradio as gr
import pytest
from test_desk_handlers import (  # noqa: F401 (desk: a fixture)
    AUDITOR,
    COMPLAINT,
    FORM,
    GOOD,
    SKIP,
    _confirm_all,
    _db,
    _form,
    _users,
    desk,
)

from qa.access.audit_log import entries
from qa.access.roles import Role
from qa.config import AgreementSettings
from qa.review.flag_decisions import FlagDecisionKind
from qa.review.state import get_review
from ui import calls, rules
from ui.flag_form import FLAG_PARTS, MAX_FLAGS
from ui.review_form import PANEL_OUTPUTS


def _part(view: list, name: str):
    return view[7 + PANEL_OUTPUTS.index(name)]


def _stored(ctx) -> list[tuple]:
    db = _db(ctx)
    try:
        return db.execute(
            "select call_id, flag_id, decision, comment, decided_by from review_flags "
            "order by call_id"
        ).fetchall()
    finally:
        db.close()


def test_the_form_shows_the_raised_flag_first_and_the_rest_hidden(desk) -> None:  # noqa: F811
    ctx, people, _ = desk
    view = calls.open_call(ctx, people["rita"], COMPLAINT)
    form = view[FORM]
    assert [(f.flag_id, f.raised) for f in form.flags] == [("complaint", True)]
    assert _part(view, "flags_head").startswith("**Flags**")
    row, radio, note = (_part(view, f"{p}0") for p in ("flagrow", "flag", "flagnote"))
    assert row.visible and row.elem_id == "qa-flagrow-inbound-service--complaint"
    assert radio.label == "Flag “Customer complaint” — machine: raised (high)"
    assert (radio.value, radio.interactive) == ("confirmed", True)
    assert [c[1] for c in radio.choices] == ["confirmed", "rejected"]
    assert note.elem_id == "qa-flagnote-inbound-service--complaint"
    assert all(_part(view, f"flagrow{slot}").visible is False for slot in range(1, MAX_FLAGS))
    assert len(FLAG_PARTS) == 1 + 3 * MAX_FLAGS
    # the good call: the machine raised nothing; the complaint flag may be added
    good = calls.open_call(ctx, people["rita"], GOOD)
    radio = _part(good, "flag0")
    assert radio.label == "Flag “Customer complaint” — machine: not raised"
    assert (radio.value, [c[1] for c in radio.choices]) == ("none", ["none", "added"])


def test_a_reviewer_rejects_a_flag_and_adds_a_missed_one_with_submit(desk) -> None:  # noqa: F811
    ctx, people, panel = desk
    rita = people["rita"]
    form = _form(ctx, rita, COMPLAINT)
    panel.submit(rita, form, _confirm_all(form), "", [("rejected", "a joke")])
    # a second click on the same form saves nothing twice
    with pytest.warns(UserWarning, match="saved once"):
        again = panel.submit(rita, form, _confirm_all(form), "", [("confirmed", "")])
    assert again == [SKIP] * (calls.VIEW_SIZE + 1)
    good = _form(ctx, rita, GOOD)
    panel.submit(rita, good, _confirm_all(good), "", [("added", "asks for a manager at 0:09")])
    assert _stored(ctx) == [
        (GOOD, "complaint", "added", "asks for a manager at 0:09", "rita"),
        (COMPLAINT, "complaint", "rejected", "a joke", "rita"),
    ]
    db = _db(ctx)
    try:
        assert get_review(db, COMPLAINT).revision == 1
        log = [(e.action, e.call_id, e.reason) for e in entries(db, action_prefix="flag.")]
    finally:
        db.close()
    assert log == [("flag.reject", COMPLAINT, "a joke"),
                   ("flag.add", GOOD, "asks for a manager at 0:09")]  # fmt: skip
    # opened again, the form shows the decision made
    radio = _part(calls.open_call(ctx, rita, COMPLAINT), "flag0")
    assert radio.value == FlagDecisionKind.REJECTED.value


def test_roles_that_do_not_review_cannot_decide_flags(desk) -> None:  # noqa: F811
    ctx, people, panel = desk
    people |= _users(ctx.db_path, ("bob", Role.AGENT))
    view = calls.open_call(ctx, people[AUDITOR], COMPLAINT)
    assert _part(view, "flag0").interactive is False  # shown, not editable
    form = view[FORM]
    for who in (people[AUDITOR], people["bob"]):
        with pytest.warns(UserWarning, match="may not"):
            refused = panel.submit(who, form, _confirm_all(form), "", [("rejected", "")])
        assert refused == [SKIP] * (calls.VIEW_SIZE + 1)
    assert _stored(ctx) == []


def test_the_rules_tab_counts_flag_decisions_with_the_calls_behind(desk) -> None:  # noqa: F811
    ctx, people, panel = desk
    rita = people["rita"]
    form = _form(ctx, rita, COMPLAINT)
    panel.submit(rita, form, _confirm_all(form), "", [("rejected", "a joke")])
    ctx = replace(ctx, agreement=AgreementSettings(min_decisions=1))
    _, flags = rules.rules_view(ctx, people["sam"], "", "")
    (row,) = flags.to_dict("records")
    assert (row["Flag"], row["Raised on reviewed calls"], row["Confirmed"], row["Rejected"],
            row["Precision"], row["Status"]) == ("inbound-service/complaint", 1, 0, 1,
                                                 "0% of 1", "attention")  # fmt: skip
    behind = rules.calls_behind_flag(ctx, people["sam"], "inbound-service/complaint", "1", "", "")
    assert f"Rejected (raised wrongly) (1): `{COMPLAINT}`" in behind
    with pytest.raises(gr.Error, match="may not see how often reviewers agree"):
        rules.calls_behind_flag(ctx, rita, "inbound-service/complaint", "1", "", "")
