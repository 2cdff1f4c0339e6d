"""The review desk's handlers called directly, without a browser (issue 16): what was broken or
wrong, and the desk's flow — submit opens the next call, a verdict picked without the Override
tick is an override, a second Submit saves nothing twice, the dispute reason shows, a disputed
call opens from the worklist, no Claim for roles that cannot, times in the site's zone, long
texts shortened, messages in the reviewer's words, one-period trends drawn.

The stores are the shared ones (tests/review_store.py, tests/records_store.py); the call view is
laid out in a real gr.Blocks so the review panel's own submit runs as the page runs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import gradio as gr
import pytest
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store
from review_store import build_review_store

from calldata import Verdict
from qa.access.roles import Role, User
from qa.access.users import add_user, get_user, list_users
from qa.db import open_db
from qa.review.assignment import claim, dispute
from qa.review.call_view import list_calls
from qa.review.state import Decision, ReviewStatus, get_review, item_decisions
from qa.review.submit import submit_review
from ui import agents, calls, queues
from ui.context import AppContext
from ui.render import expandable_html, local_time
from ui.review_form import (
    FORM_PARTS,
    MAX_ITEMS,
    PANEL_OUTPUTS,
    FormItem,
    ReviewForm,
    form_changes,
    form_values,
    item_choice,
)
from ui.review_panel import ReviewPanel
from ui.widgets import CallView

GOOD, COMPLAINT, ZH = "1763651705.11", "1763655760.42", "1763647200.7"
AUDITOR = "aude"
SKIP = gr.skip()
ZONE = ZoneInfo("America/New_York")
FORM = 7 + PANEL_OUTPUTS.index("form")  # the form's place among the call view's outputs
STATUS = 7 + PANEL_OUTPUTS.index("status")


def _users(db_path: Path, *names: tuple[str, Role]) -> dict[str, User]:
    db = open_db(db_path)
    try:
        for name, role in names:
            if get_user(db, name) is None:
                add_user(db, name, PASSWORD, role)
        return {u.username: u for u in list_users(db)}
    finally:
        db.close()


@pytest.fixture
def desk(tmp_path: Path) -> tuple[AppContext, dict[str, User], ReviewPanel]:
    db_path = build_review_store(tmp_path)
    people = _users(db_path, (REVIEWER, Role.REVIEWER), ("rob", Role.REVIEWER),
                    (SUPERVISOR, Role.SUPERVISOR), (AUDITOR, Role.AUDITOR))  # fmt: skip
    audio = tmp_path / "audio"
    audio.mkdir()
    marks = {("inbound-service", "1"): 70.0}  # the v1 scorecards keep no pass mark
    ctx = AppContext(db_path=db_path, audio_dir=audio, zone=ZONE, pass_marks=marks)
    with gr.Blocks():
        widgets = calls.layout(ctx)
    queues.load(ctx, people[REVIEWER], queues.MINE, True)  # the queues brought up to date
    return ctx, people, widgets.panel


def _form(ctx: AppContext, user: User, call_id: str) -> ReviewForm:
    form = calls.open_call(ctx, user, call_id)[FORM]
    assert isinstance(form, ReviewForm) and form.call_id == call_id
    return form


def _confirm_all(form: ReviewForm) -> list[tuple[str, str, str]]:
    return [(Decision.CONFIRMED.value, item.verdict.value, "") for item in form.items]


def _db(ctx: AppContext):
    return open_db(ctx.db_path)


def test_submit_saves_the_review_and_opens_the_next_call_claimed(desk):
    ctx, people, panel = desk
    rita = people[REVIEWER]
    form = _form(ctx, rita, COMPLAINT)
    view = panel.submit(rita, form, _confirm_all(form), "all fine")
    assert len(view) == calls.VIEW_SIZE + 1  # the call view, and the mark the lists follow
    opened = view[6]
    assert opened not in (None, COMPLAINT)  # the next call of the queues is open
    db = _db(ctx)
    assert get_review(db, COMPLAINT).status is ReviewStatus.DONE
    assert get_review(db, opened).assignee == REVIEWER  # taken for rita: nobody else gets it
    db.close()
    assert view[FORM].call_id == opened and view[FORM].editable


def test_a_verdict_picked_without_the_override_tick_counts_as_an_override(desk):
    ctx, people, panel = desk
    rita = people[REVIEWER]
    form = _form(ctx, rita, GOOD)
    first = form.items[0]
    assert first.machine.value == "pass"
    fields = _confirm_all(form)
    fields[0] = (Decision.CONFIRMED.value, "fail", "")  # the dropdown changed, no tick
    # an override needs its comment: refused, in the reviewer's words (the item's title)
    with pytest.warns(UserWarning, match=f"“{first.title}”: an override needs a comment") as w:
        assert panel.submit(rita, form, fields, "") == [SKIP] * (calls.VIEW_SIZE + 1)
    assert "inbound-service/" not in str(w[0].message)
    fields[0] = (Decision.CONFIRMED.value, "fail", "no greeting heard at all")
    panel.submit(rita, form, fields, "")
    db = _db(ctx)
    decided = {d.item_id: d for d in item_decisions(db, GOOD)}
    db.close()
    assert decided[first.item_id].decision is Decision.OVERRIDDEN  # not silently "confirmed"
    assert decided[first.item_id].verdict.value == "fail"


def test_the_form_reads_what_the_reviewer_meant():
    item = FormItem(1, "r", "greeting", "Greets", False, machine=_verdict("pass"),
                    decision=Decision.CONFIRMED, verdict=_verdict("pass"), comment="")  # fmt: skip
    assert item_choice(item, "confirmed", "pass", "").decision is Decision.CONFIRMED
    assert item_choice(item, "rejected", "pass", "").decision is Decision.REJECTED
    assert item_choice(item, "rejected", "fail", "").decision is Decision.REJECTED  # the same
    picked = item_choice(item, "confirmed", "na", "not applicable here")
    assert (picked.decision, picked.verdict.value) == (Decision.OVERRIDDEN, "na")


def _verdict(value: str):
    from calldata import Verdict

    return Verdict(value)


def test_a_second_click_on_submit_saves_nothing_twice_and_is_no_error(desk):
    ctx, people, panel = desk
    rita = people[REVIEWER]
    form = _form(ctx, rita, GOOD)
    panel.submit(rita, form, _confirm_all(form), "")
    with pytest.warns(UserWarning, match="just submitted .* saved once"):
        assert panel.submit(rita, form, _confirm_all(form), "") == [SKIP] * (calls.VIEW_SIZE + 1)
    db = _db(ctx)
    assert get_review(db, GOOD).revision == 1
    db.close()


def test_the_reviewer_sees_why_their_review_is_disputed_and_can_open_it_from_the_worklist(desk):
    ctx, people, _ = desk
    rita, sam = people[REVIEWER], people[SUPERVISOR]
    db = _db(ctx)
    form = _form(ctx, rita, GOOD)
    from qa.review.state import ItemChoice

    submit_review(db, GOOD, rita, [ItemChoice(i.scorecard_id, i.item_id, Decision.CONFIRMED)
                                   for i in form.items])  # fmt: skip
    dispute(db, GOOD, sam, "the agent did greet the caller: listen at 0:01")
    db.close()
    _, mine, *_ = queues.load(ctx, rita, queues.MINE, True)
    assert GOOD in list(mine["Call ID"])
    view = CallView(outputs=[None] * calls.VIEW_SIZE,
                    open=lambda user, call_id: calls.open_call(ctx, user, call_id))  # fmt: skip
    tab, *opened = queues.open_picked(ctx, rita, view, GOOD, True)  # "Claim and open"
    assert tab.selected == "calls" and opened[6] == GOOD
    status = opened[STATUS]
    assert "Disputed by <b>sam</b>" in status and "listen at 0:01" in status
    assert opened[FORM].editable  # rita may submit it again


def test_roles_that_do_not_review_get_no_claim_and_no_next_call(desk):
    ctx, people, _ = desk
    *_, claim_button = queues.load(ctx, people[AUDITOR], "complaints", True)
    assert claim_button.visible is False
    view = calls.open_call(ctx, people[AUDITOR], COMPLAINT)
    claim_v, release_v, next_v = (view[7 + PANEL_OUTPUTS.index(n)] for n in
                                  ("claim", "release", "next"))  # fmt: skip
    assert (claim_v.visible, release_v.visible, next_v.visible) == (False, False, False)
    reviewer_view = calls.open_call(ctx, people[REVIEWER], COMPLAINT)
    assert reviewer_view[7 + PANEL_OUTPUTS.index("next")].visible


def test_times_are_in_the_sites_zone(desk):
    ctx, people, _ = desk
    _, frame = calls.load_page(ctx, people[REVIEWER])
    db = _db(ctx)
    start = next(r.start for r in list_calls(db) if r.call_id == COMPLAINT)
    claim(db, COMPLAINT, people[REVIEWER])
    db.close()
    row = frame[frame["Call ID"] == COMPLAINT].iloc[0]
    assert row["Time"] == local_time(start, ZONE) != start.strftime("%Y-%m-%d %H:%M")
    title = calls.open_call(ctx, people[REVIEWER], COMPLAINT)[0]
    assert start.astimezone(ZONE).strftime("%H:%M:%S EST") in title
    _, queue, *_ = queues.load(ctx, people[REVIEWER], queues.MINE, True)
    assert queue.iloc[0]["Time"] == local_time(start, ZONE)


def test_a_long_comment_is_shortened_with_the_rest_a_click_away(desk):
    ctx, people, panel = desk
    rita = people[REVIEWER]
    long = "The agent " + "kept the caller waiting " * 220 + "and never apologised."
    assert len(long) > 5000
    form = _form(ctx, rita, GOOD)
    panel.submit(rita, form, _confirm_all(form), long)
    status = calls.open_call(ctx, rita, GOOD)[STATUS]
    summary = status.split("<summary>")[1].split("</summary>")[0]
    assert "<details" in status and len(summary) < 300 and "show all" in summary
    assert "never apologised." in status  # the whole text is there, behind the click
    assert expandable_html("short & sweet") == "short &amp; sweet"


# --- the Agents tab over the records store ------------------------------------------------------


def test_a_range_of_one_period_draws_bars_rather_than_an_empty_line(tmp_path: Path):
    db_path = build_records_store(tmp_path, reviewed=True)
    people = _users(db_path)
    ctx = AppContext(db_path=db_path, audio_dir=tmp_path)
    sam = people[SUPERVISOR]
    _, line, bars, _, agent_line, agent_bars, *_ = agents.team_view(
        ctx, sam, "month", "2026-11-01", "2026-11-30", None
    )
    assert (line.visible, bars.visible) == (False, True)
    assert (agent_line.visible, agent_bars.visible) == (False, True)
    assert bars.value["data"] != []  # the month's figures are drawn
    _, line, bars, *_ = agents.team_view(ctx, sam, "week", "", "", None)
    assert (line.visible, bars.visible) == (True, False)


def test_an_empty_store_says_what_to_do(tmp_path: Path):
    db_path = tmp_path / "empty.db"
    open_db(db_path).close()
    people = _users(db_path, (REVIEWER, Role.REVIEWER))
    ctx = AppContext(db_path=db_path, audio_dir=tmp_path)
    _, table = calls.load_page(ctx, people[REVIEWER])
    assert "No calls in the store yet: run `qa run" in table.label
    *_, note, _ = queues.load(ctx, people[REVIEWER], queues.MINE, True)
    assert note.startswith("Your worklist is empty")
    *_, note, _ = queues.load(ctx, people[REVIEWER], "complaints", True)
    assert note.startswith("No call in this queue")


def _item(item_id: str, machine: Verdict) -> FormItem:
    return FormItem(1, "inbound-service", item_id, item_id.title(), False, machine,
                    Decision.CONFIRMED, machine, "")  # fmt: skip


def test_the_next_calls_form_is_sent_as_changes_that_show_the_next_call():
    """After Submit, a row that keeps its item gets its values only (whatever the reviewer
    had picked there is reset), a row whose item reads differently is drawn again, a row no
    longer needed is hidden, and parts that look the same are left alone."""
    before = ReviewForm("c1", (_item("greeting", Verdict.PASS), _item("empathy", Verdict.FAIL),
                               _item("closing", Verdict.PASS)), editable=True)  # fmt: skip
    after = ReviewForm("c2", (_item("greeting", Verdict.PASS), _item("empathy", Verdict.PASS)),
                       editable=True)  # fmt: skip
    sent = dict(zip(FORM_PARTS, form_changes(after, before), strict=True))
    skip = gr.skip()
    assert sent["row0"] == skip and sent["bar"] == skip and sent["note"] == skip
    assert (sent["decision0"], sent["verdict0"], sent["comment0"]) == ("confirmed", "pass", "")
    assert isinstance(sent["decision1"], gr.Radio)
    assert "machine: PASS" in str(sent["decision1"].label)
    assert sent["verdict1"] == "pass"
    assert isinstance(sent["row2"], gr.Row) and sent["row2"].visible is False
    assert all(sent[f"{part}3"] == skip for part in ("row", "decision", "verdict", "comment"))
    assert json.loads(sent["machine"]) == ["pass", "pass"]
    # The same form again (a refused Submit re-sent) changes nothing but the fields' values.
    again = dict(zip(FORM_PARTS, form_changes(after, after), strict=True))
    assert again["decision1"] == "confirmed" and again["machine"] == skip


def test_a_call_with_more_items_than_the_form_holds_says_what_to_do_and_saves_nothing(desk):
    """A rubric of 17 items on a form of MAX_ITEMS (16) rows: the note and the refusal say to
    split the rubric (no command that does not exist), and Submit changes nothing."""
    ctx, people, panel = desk
    rita = people[REVIEWER]
    items = tuple(_item(f"item{n}", Verdict.PASS) for n in range(MAX_ITEMS + 1))
    form = ReviewForm(COMPLAINT, items, editable=True)
    note = dict(zip(FORM_PARTS, form_values(form), strict=True))["note"]
    assert "split the rubric" in str(note.value) and "qa review" not in str(note.value)
    fields = [("confirmed", "pass", "")] * MAX_ITEMS
    view = panel.submit(rita, form, fields, "")
    assert all(value == SKIP for value in view)  # the page as it was
    db = _db(ctx)
    review = get_review(db, COMPLAINT)
    db.close()
    assert review is None or review.status is not ReviewStatus.DONE
