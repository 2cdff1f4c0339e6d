"""The tabs' handlers called directly, without a browser: what each role gets back, what a refused
action says, and that a refused action changes nothing.

Every handler takes the app context and the user (the browser's request only tells the wiring
who is asking), so these tests call them with one role's user and another's. The stores are the
shared ones: tests/review_store.py for the Calls and Queues tabs (four calls: the good call
1763651705.11, the complaint 1763655760.42, the Mandarin call 1763647200.7 and a pending one),
tests/records_store.py for the Agents, Complaints and Audit tabs (rita reviewer, sam supervisor).
"""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store
from review_store import PHONE, build_review_store

from qa.access.agent_links import agent_of
from qa.access.audit_log import entries
from qa.access.roles import Role, User
from qa.access.users import add_user, get_user, list_users
from qa.db import open_db
from qa.records.complaints import list_cases
from qa.review.assignment import claim
from qa.review.state import ReviewStatus, get_review
from ui import agents, audit, calls, complaints, queues, users, widgets
from ui.context import AppContext
from ui.widgets import CallView, parse_day

GOOD, COMPLAINT, ZH, PENDING = "1763651705.11", "1763655760.42", "1763647200.7", "1763640000.3"
AUDITOR, ADMIN = "aude", "ada"
SKIP = gr.skip()


def _users(db_path: Path, *names: tuple[str, Role]) -> dict[str, User]:
    db = open_db(db_path)
    try:
        for name, role in names:
            if get_user(db, name) is None:
                add_user(db, name, PASSWORD, role)
        return {u.username: u for u in list_users(db)}
    finally:
        db.close()


def _ids(frame: pd.DataFrame, column: str = "Call ID") -> list[str]:
    return [str(value) for value in frame[column]]


# --- the Calls and Queues tabs, over the review store -------------------------------------------


@pytest.fixture
def review_app(tmp_path: Path) -> tuple[AppContext, dict[str, User]]:
    db_path = build_review_store(tmp_path)
    people = _users(db_path, (REVIEWER, Role.REVIEWER), ("rob", Role.REVIEWER),
                    (SUPERVISOR, Role.SUPERVISOR), (AUDITOR, Role.AUDITOR))  # fmt: skip
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio), people


def _review(ctx: AppContext, call_id: str):
    db = open_db(ctx.db_path)
    try:
        return get_review(db, call_id)
    finally:
        db.close()


def test_the_call_list_is_newest_first_and_the_filters_narrow_it(review_app):
    ctx, people = review_app
    rita = people[REVIEWER]
    choices, frame = calls.load_page(ctx, rita)
    assert _ids(frame) == [COMPLAINT, GOOD, ZH, PENDING]
    assert ("Wang Fang", "1003") in choices.choices
    assert _ids(calls.filter_table(ctx, rita, "1003", False, False)) == [ZH]
    assert _ids(calls.filter_table(ctx, rita, "", True, False)) == [COMPLAINT]
    assert _ids(calls.filter_table(ctx, rita, "", False, True)) == [COMPLAINT]
    assert calls.filter_table(ctx, rita, "", False, False)["Result"].tolist() == [
        "FAIL", "pass", "pass", ""
    ]  # fmt: skip


def test_a_reviewer_sees_the_callers_number_masked_and_an_auditor_sees_it(review_app):
    ctx, people = review_app
    masked = calls.open_call(ctx, people[REVIEWER], GOOD)
    shown = calls.open_call(ctx, people[AUDITOR], GOOD)
    assert len(masked) == len(shown) == calls.VIEW_SIZE
    transcript = 3  # title, audio, audio note, transcript, ...
    assert PHONE not in masked[transcript] and "masked for your role" in masked[transcript]
    assert PHONE in shown[transcript]
    assert masked[1] is not None and masked[2].startswith("Audio: ")  # the two legs, playable
    assert masked[6] == GOOD  # the open call, for Refresh


def test_a_link_to_a_call_opens_it_when_the_page_loads(review_app):
    """Alert messages link to REVIEW_URL/?call=ID: the page opens on that call."""
    ctx, people = review_app
    opened = calls.open_linked_call(ctx, people[REVIEWER], COMPLAINT)
    assert f"Call {COMPLAINT}" in opened[0] and opened[6] == COMPLAINT
    assert calls.open_linked_call(ctx, people[REVIEWER], None) == [SKIP] * calls.VIEW_SIZE
    with pytest.warns(UserWarning, match="no-such-call"):  # the page stays as it was
        assert (
            calls.open_linked_call(ctx, people[REVIEWER], "no-such-call")
            == [SKIP] * calls.VIEW_SIZE
        )
    agent = User("bob", Role.AGENT)  # agents open their calls in My evaluations only
    assert calls.open_linked_call(ctx, agent, COMPLAINT) == [SKIP] * calls.VIEW_SIZE


def test_opening_no_call_shows_the_prompt_and_an_unknown_call_is_an_error(review_app):
    ctx, people = review_app
    empty = calls.open_call(ctx, people[REVIEWER], None)
    assert "Select a call" in empty[0] and empty[1] is None and len(empty) == calls.VIEW_SIZE
    with pytest.raises(gr.Error, match="no-such-call"):
        calls.open_call(ctx, people[REVIEWER], "no-such-call")
    # Refresh with no call open redraws the list and leaves the call view as it is
    frame, *view = calls.refresh_all(ctx, people[REVIEWER], "", False, False, None)
    assert len(frame) == 4 and view == [SKIP] * calls.VIEW_SIZE


def _call_view(ctx: AppContext) -> CallView:
    return CallView(outputs=[None] * calls.VIEW_SIZE, open=lambda user, call_id: calls.open_call(
        ctx, user, call_id))  # fmt: skip


def test_the_queues_hold_the_expected_calls_and_lead_tools_show_to_supervisors(review_app):
    ctx, people = review_app
    choices, frame, lead, names, note, claim_button = queues.load(
        ctx, people[REVIEWER], "complaints", True
    )
    assert _ids(frame) == [COMPLAINT]
    assert claim_button.visible is True
    assert "newly queued" in note  # the first load brings the queues up to date
    assert lead.visible is False and names == SKIP
    assert "Complaints (1 open of 1)" in [label for label, _ in choices.choices]
    *_, note, _ = queues.load(ctx, people[REVIEWER], "complaints", True)
    assert note == "1 call(s)."  # no new scorecard since: no second refresh
    _, mine, _, _, note, _ = queues.load(ctx, people[REVIEWER], queues.MINE, True)
    assert mine.empty and note.startswith("Your worklist is empty: pick a queue")
    _, _, lead, names, _, _ = queues.load(ctx, people[SUPERVISOR], "complaints", True)
    assert lead.visible is True and {REVIEWER, "rob"} <= {value for _, value in names.choices}


def test_claim_and_open_takes_the_call_and_switches_to_the_calls_tab(review_app):
    ctx, people = review_app
    tab, *view = queues.open_picked(ctx, people[REVIEWER], _call_view(ctx), COMPLAINT, True)
    assert tab.selected == "calls" and view[6] == COMPLAINT
    review = _review(ctx, COMPLAINT)
    assert (review.status, review.assignee) == (ReviewStatus.IN_REVIEW, REVIEWER)
    _, mine, *_ = queues.load(ctx, people[REVIEWER], queues.MINE, True)
    assert _ids(mine) == [COMPLAINT]


def test_refused_queue_actions_say_why_and_change_nothing(review_app):
    ctx, people = review_app
    view = _call_view(ctx)
    with pytest.warns(UserWarning, match="Select a call in the table first"):
        assert queues.open_picked(ctx, people[REVIEWER], view, "", True) == [SKIP] * (
            1 + calls.VIEW_SIZE
        )
    # an auditor reads, never reviews: the server refuses the claim whatever the page showed
    with pytest.raises(gr.Error, match=r"aude \(auditor\) may not claim"):
        queues.open_picked(ctx, people[AUDITOR], view, COMPLAINT, True)
    assert _review(ctx, COMPLAINT) is None
    db = open_db(ctx.db_path)
    claim(db, COMPLAINT, people["rob"])
    db.close()
    with pytest.warns(UserWarning, match="rob"):
        refused = queues.open_picked(ctx, people[REVIEWER], view, COMPLAINT, True)
    assert refused == [SKIP] * (1 + calls.VIEW_SIZE)
    assert _review(ctx, COMPLAINT).assignee == "rob"


def test_only_leads_assign_deal_and_dispute(review_app):
    ctx, people = review_app
    rita, sam = people[REVIEWER], people[SUPERVISOR]
    with pytest.raises(gr.Error, match=r"rita \(reviewer\) may not assign reviews"):
        queues.assign_picked(ctx, rita, GOOD, [REVIEWER])
    with pytest.raises(gr.Error, match="may not assign reviews"):
        queues.deal_queue(ctx, rita, [REVIEWER], queues.MINE)
    with pytest.raises(gr.Error, match="may not mark"):
        queues.dispute_picked(ctx, rita, GOOD, "wrong")
    assert _review(ctx, GOOD) is None
    with pytest.warns(UserWarning, match="exactly one reviewer"):
        assert queues.assign_picked(ctx, sam, GOOD, [REVIEWER, "rob"]) == SKIP
    with pytest.warns(UserWarning, match="Select a call"):
        assert queues.assign_picked(ctx, sam, "", [REVIEWER]) == SKIP
    assert _review(ctx, GOOD) is None
    assert queues.assign_picked(ctx, sam, GOOD, ["rob"]) == f"Call {GOOD} assigned to rob."
    assert _review(ctx, GOOD).assignee == "rob"


# --- the Agents, Complaints and Audit tabs, over the records store ------------------------------


@pytest.fixture
def records_app(tmp_path: Path) -> tuple[AppContext, dict[str, User]]:
    db_path = build_records_store(tmp_path, reviewed=True)
    people = _users(db_path, (AUDITOR, Role.AUDITOR), (ADMIN, Role.ADMIN))
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio), people


def _cases(ctx: AppContext) -> list:
    db = open_db(ctx.db_path)
    try:
        return list_cases(db)
    finally:
        db.close()


def test_complaints_load_the_cases_and_the_tools_each_role_may_use(records_app):
    ctx, people = records_app
    overdue, cases, opener, owner_button, status_button, dnd_box, *dnd = complaints.load(
        ctx, people[REVIEWER]
    )
    assert _ids(cases, "Call") == ["c5-complaint-zh", "c3-complaint-en"]  # newest first
    assert _ids(overdue, "Call") == ["c3-complaint-en", "c5-complaint-zh"]  # most escalated first
    assert opener.visible is True  # a reviewer may open a case
    assert (owner_button.visible, status_button.visible, dnd_box.visible) == (False, False, False)
    assert dnd == [SKIP, SKIP]
    *_, owner_button, status_button, dnd_box, dnd_table, _ = complaints.load(
        ctx, people[SUPERVISOR]
    )
    assert (owner_button.visible, status_button.visible, dnd_box.visible) == (True, True, True)
    assert _ids(dnd_table, "Call") == ["c8-dnd-survey-zh", "c9-dnd-pitch-en"]


def test_the_do_not_disturb_list_is_masked_for_supervisors_and_refused_to_reviewers(records_app):
    ctx, people = records_app
    masked, download = complaints.dnd_list(ctx, people[SUPERVISOR])
    shown, _ = complaints.dnd_list(ctx, people[AUDITOR])
    assert masked["Customer"].tolist() == ["[phone ···7000]", "[phone ···0109]"]
    assert shown["Customer"].tolist() == ["13700137000", "4155550109"]
    assert "4155550109" not in Path(download.value["path"]).read_text(encoding="utf-8")
    with pytest.warns(UserWarning, match=r"rita \(reviewer\) may not export"):
        assert complaints.dnd_list(ctx, people[REVIEWER]) == [SKIP, SKIP]


def test_an_exports_original_is_private_and_gone_a_moment_after_it_is_handed_out(
    records_app, monkeypatch
):
    """Gradio copies a returned file into its cache while the request ends (that copy is the
    download, deleted once fetched: tests/ui/test_file_links.py); the original in the app's
    private folder is deleted EXPORT_ORIGINAL_KEEP_S later (60 s; here 0.2 s)."""
    ctx, people = records_app
    monkeypatch.setattr(widgets, "EXPORT_ORIGINAL_KEEP_S", 0.2)
    _, download = complaints.dnd_list(ctx, people[AUDITOR])
    original = ctx.audio_dir / "exports" / Path(download.value["path"]).name  # not Gradio's copy
    assert "4155550109" in original.read_text(encoding="utf-8")  # unmasked for the auditor...
    assert original.stat().st_mode & 0o777 == 0o600  # ...so readable by the server's user only
    assert original.parent.stat().st_mode & 0o777 == 0o700
    deadline = time.monotonic() + 10
    while original.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not original.exists()


def test_refused_case_changes_say_why_and_change_nothing(records_app):
    # A refusal is a warning and leaves every output as it was (gr.skip): raising would turn
    # both tables, the case card and the fields into red "Error" placeholders.
    ctx, people = records_app
    rita, aude, sam = people[REVIEWER], people[AUDITOR], people[SUPERVISOR]
    complaints.load(ctx, rita)  # opens the cases of the complaint flags
    before = _cases(ctx)
    case_id = before[0].case_id
    refusals = [
        ("supervisor", lambda: complaints.set_case_owner(ctx, rita, case_id, REVIEWER, "all"), 7),
        ("may not", lambda: complaints.set_case_status(ctx, rita, case_id, "in_progress", "",
                                                       "all"), 8),
        ("Choose the new status first",
         lambda: complaints.set_case_status(ctx, sam, case_id, None, "", "all"), 8),
        ("note", lambda: complaints.set_case_status(ctx, sam, case_id, "resolved", " ", "all"), 8),
        ("may not", lambda: complaints.open_new_case(ctx, aude, "c6-no-greeting-en", "medium",
                                                     "curt", "all"), 9),
        ("summary is required", lambda: complaints.open_new_case(
            ctx, rita, "c6-no-greeting-en", "medium", "  ", "all"), 9),
        ("no-such-call", lambda: complaints.open_new_case(ctx, rita, "no-such-call", "medium",
                                                          "rude", "all"), 9),
    ]  # fmt: skip
    for words, action, outputs in refusals:
        with pytest.warns(UserWarning, match=words):
            assert action() == [SKIP] * outputs
    assert _cases(ctx) == before


def test_a_reviewer_opens_a_case_and_a_supervisor_gives_it_an_owner(records_app):
    ctx, people = records_app
    rita, sam = people[REVIEWER], people[SUPERVISOR]
    out = complaints.open_new_case(ctx, rita, " c6-no-greeting-en ", "low", "curt agent", "all")
    _, cases, detail, case_id, manage, _, owner, cleared_call, cleared_text = out
    assert "c6-no-greeting-en" in _ids(cases, "Call") and "curt agent" in detail
    assert (cleared_call, cleared_text) == ("", "")
    assert manage.visible is False and owner.interactive is False  # rita neither manages nor owns
    out = complaints.set_case_owner(ctx, sam, case_id, REVIEWER, "all")
    assert out[4].visible is True and out[6].value == REVIEWER
    manage, actions = complaints.show(ctx, rita, case_id)[2:4]
    assert actions.visible is True  # now hers: she may reply...
    assert manage.visible is False  # ...but sets neither owner nor status: not offered


def test_the_owner_records_that_the_customer_was_told_who_owns_the_case(records_app):
    ctx, people = records_app
    rita, sam = people[REVIEWER], people[SUPERVISOR]
    complaints.load(ctx, rita)  # opens the cases of the complaint flags: the 4-hour clock starts
    case_id = _cases(ctx)[0].case_id
    with pytest.warns(UserWarning, match="owner first"):
        assert complaints.confirm_case_owner(ctx, sam, case_id, "", "all") == [SKIP] * 8
    with pytest.warns(UserWarning, match="Select a case first"):
        assert complaints.confirm_case_owner(ctx, rita, None, "", "all") == [SKIP] * 8
    complaints.set_case_owner(ctx, sam, case_id, REVIEWER, "all")
    out = complaints.confirm_case_owner(ctx, rita, case_id, "told her I own it", "all")
    detail, cleared = out[2], out[-1]
    assert "owner confirmed to the customer" in detail and "told her I own it" in detail
    assert cleared == ""
    (case,) = [c for c in _cases(ctx) if c.case_id == case_id]
    assert case.ownership_confirmed_at is not None
    assert case.deadlines()[0].state == "met"  # within the four hours of being recorded


def test_agent_records_are_for_leads_and_list_the_team(records_app):
    ctx, people = records_app
    denied, body, *rest = agents.load(ctx, people[REVIEWER])
    assert denied.visible is True and "supervisors, auditors and admins" in denied.value
    assert body.visible is False and rest == [SKIP] * 8
    with pytest.warns(UserWarning, match="may not see agents' performance records"):
        assert agents.team_view(ctx, people[REVIEWER], "week", "", "", None) == [SKIP] * 8
    with pytest.warns(UserWarning, match="may not see agents' performance records"):
        assert agents.agent_view(ctx, people[REVIEWER], "1001", "week", "", "") == [SKIP] * 4
    team, line, bars, choice, *_, items, cases = agents.team_view(
        ctx, people[SUPERVISOR], "week", "", "", None
    )
    assert line.visible is True and bars.visible is False  # several weeks: a line per agent
    assert sorted(team["Agent"]) == ["Alice Smith", "Bob Jones", "Wang Fang"]
    assert team["Agent"].iloc[-1] == "Bob Jones"  # best rank first: Bob fails most
    assert choice.value == "1001" and not items.empty
    assert _ids(cases, "Call") == ["c3-complaint-en"]  # Alice's
    # a bad day leaves the tab as it was and says how to write it (no "Error" placeholders)
    with pytest.warns(UserWarning, match="Since: write the day as YYYY-MM-DD"):
        assert agents.team_view(ctx, people[SUPERVISOR], "week", "20 Nov", "", None) == [SKIP] * 8
    with pytest.warns(UserWarning, match="Until: write the day"):
        assert agents.agent_view(ctx, people[SUPERVISOR], "1001", "week", "", "x") == [SKIP] * 4


def test_the_identity_audit_is_masked_for_supervisors_and_refused_to_reviewers(records_app):
    ctx, people = records_app
    note, frame, checks, prompt, download = audit.run_audit(ctx, people[SUPERVISOR], "", "", False)
    assert note.startswith("**4** call(s) with a transaction; **2** not verified before it.")
    assert "unmasked" not in note and all(c.masked for c in checks)
    assert Path(download.value["path"]).is_file()
    note, frame, checks, *_ = audit.run_audit(ctx, people[AUDITOR], "", "", True)
    assert "Personal numbers are shown unmasked." in note and not any(c.masked for c in checks)
    assert _ids(frame, "Call") == ["c2-no-id-en", "c7-late-verification-en"]
    evidence = audit.show_evidence(ctx, people[AUDITOR], checks, "c2-no-id-en")
    assert 'data-call="c2-no-id-en"' in evidence
    assert audit.show_evidence(ctx, people[AUDITOR], checks, None) == prompt
    with pytest.warns(UserWarning, match="may not run the identity-verification audit"):
        assert audit.run_audit(ctx, people[REVIEWER], "", "", False) == [SKIP] * 5
    with pytest.warns(UserWarning, match="may not run the identity-verification audit"):
        assert audit.show_evidence(ctx, people[REVIEWER], checks, "c2-no-id-en") == SKIP
    with pytest.warns(UserWarning, match="Since: write the day as YYYY-MM-DD"):
        assert audit.run_audit(ctx, people[AUDITOR], "yesterday", "", False) == [SKIP] * 5
    denied, body, *rest = audit.load(ctx, people[REVIEWER])
    assert denied.visible is True and body.visible is False and rest == [SKIP] * 5


def test_only_admins_manage_users_and_a_refusal_adds_nobody(records_app):
    ctx, people = records_app
    notice, tools, table, agents = users.load(ctx, people[SUPERVISOR])
    assert "Only admins manage users" in notice and tools.visible is False and table == SKIP
    assert agents == SKIP
    with pytest.raises(gr.Error, match=r"sam \(supervisor\) may not add users"):
        users.add(ctx, people[SUPERVISOR], "mallory", "admin", "a long enough password")
    with pytest.warns(UserWarning, match="8"):
        assert users.add(ctx, people[ADMIN], "mallory", "reviewer", "short") == [SKIP] * 3
    assert "mallory" not in _users(ctx.db_path)
    frame, line, cleared = users.add(ctx, people[ADMIN], " mallory ", "reviewer", PASSWORD)
    assert "mallory" in _ids(frame, "User") and cleared == ""
    assert line == "Added mallory (reviewer)."


def test_a_day_field_takes_iso_days_or_blank():
    assert parse_day("  ", "Since") is None
    assert str(parse_day("2026-11-20", "Since")) == "2026-11-20"
    with pytest.raises(gr.Error, match="Until: write the day"):
        parse_day("11/20/2026", "Until")


def test_admins_link_an_agent_user_to_an_agent_and_others_are_refused(records_app):
    ctx, people = records_app
    db = open_db(ctx.db_path)
    try:
        add_user(db, "bob", PASSWORD, Role.AGENT)
    finally:
        db.close()
    *_, table, agents = users.load(ctx, people[ADMIN])
    assert ("Bob Jones (1002)", "1002") in agents.choices  # the agents the calls know
    assert table.set_index("User").loc["bob", "Agent"] == "(not linked)"
    with pytest.raises(gr.Error, match=r"sam \(supervisor\) may not add users"):
        users.link(ctx, people[SUPERVISOR], "bob", "1002")
    with pytest.warns(UserWarning, match="only users of role agent"):
        assert users.link(ctx, people[ADMIN], SUPERVISOR, "1002") == [SKIP] * 3
    frame, line, kept = users.link(ctx, people[ADMIN], " bob ", "1002")
    assert line == "Linked bob to agent 1002." and kept == SKIP
    assert frame.set_index("User").loc["bob", "Agent"] == "1002"
    db = open_db(ctx.db_path)
    try:
        assert agent_of(db, "bob") == "1002"
        (entry,) = entries(db, action_prefix="user.link_agent")
    finally:
        db.close()
    assert (entry.actor, entry.target, entry.after) == (ADMIN, "bob", "1002")
