"""Agents in the review app, through the tabs' handlers called directly (what the Gradio API runs,
whoever calls it): an agent gets their own calls only in My evaluations, nothing from the staff
tabs, and a refusal for another agent's call; the acknowledge → appeal → overturn round trip through
the My evaluations and Appeals tabs changes the agent's record.

The store is tests/review_store.py's: Bob's complaint call (greeting and closing failed) and
Alice's good call; bob and alice are agent users linked to 1002 and 1001.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from review_store import build_review_store

from qa.access.agent_links import link_agent
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.config import AppealSettings
from qa.db import open_db
from qa.records.agents import agent_records
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review
from ui import agents, appeals, calls, complaints, my_calls, queues, rules
from ui.context import AppContext

GOOD, COMPLAINT, PENDING = "1763651705.11", "1763655760.42", "1763640000.3"
PASSWORD = "a long enough password"
RITA, SAM, BOB, ALICE = (User("rita", Role.REVIEWER), User("sam", Role.SUPERVISOR),
                         User("bob", Role.AGENT), User("alice", Role.AGENT))  # fmt: skip
SKIP = gr.skip()
MARKS = {("inbound-service", "1"): 80.0}


@pytest.fixture
def app(tmp_path: Path) -> AppContext:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    for user in (RITA, SAM, BOB, ALICE):
        add_user(db, user.username, PASSWORD, user.role)
    link_agent(db, "bob", "1002")
    link_agent(db, "alice", "1001")
    for call_id in (GOOD, COMPLAINT):  # rita evaluates both, confirming the machine
        (card,) = effective_scorecards(db, [call_id])[call_id]
        choices = [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED)
                   for i in card.machine.items]  # fmt: skip
        submit_review(db, call_id, RITA, choices, pass_marks=MARKS)
    db.close()
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio, pass_marks=MARKS,
                      appeals=AppealSettings(window_days=7))  # fmt: skip


def test_an_agent_gets_nothing_from_the_staff_tabs(app: AppContext) -> None:
    choices, table = calls.load_page(app, BOB)
    assert table.empty and choices.choices == []
    for refused_call in (
        lambda: calls.open_call(app, BOB, COMPLAINT),  # even their own call: not this way
        lambda: calls.filter_table(app, BOB, "", False, False),
        lambda: appeals.list_view(app, BOB, "all"),
        lambda: complaints.tables(app, BOB, "all"),
    ):
        with pytest.raises(gr.Error, match=r"bob \(agent\) may not"):
            refused_call()
    # the Agents tab keeps the page on a refusal (issue 16): a warning, every output as it was
    with pytest.warns(UserWarning, match=r"bob \(agent\) may not"):
        kept = agents.team_view(app, BOB, "week", "", "", None)
    assert set(map(repr, kept)) == {repr(SKIP)}
    assert queues.load(app, BOB, "", True) == [SKIP] * queues.LOAD_SIZE
    assert complaints.load(app, BOB) == [SKIP] * 8
    denied, body, _ = appeals.load(app, BOB)
    assert "settled by supervisors" in denied and body.visible is False


def test_an_agent_sees_and_opens_only_their_own_calls(app: AppContext) -> None:
    denied, body, note, table = my_calls.load(app, ALICE)
    assert denied == "" and body.visible is True
    assert sorted(table["Call ID"]) == [PENDING, GOOD]
    assert "1 evaluation(s) to acknowledge" in note
    title, audio, transcript, scorecard, ack, items, rows, opened = my_calls.open_call(
        app, ALICE, GOOD
    )
    assert 'data-counts="human"' in scorecard and rows.empty
    assert opened == GOOD and ack.interactive is True and audio is not None
    assert "4155550134" not in title and "caller" in title
    assert "415 555 0134" not in transcript and "masked for your role" in transcript
    assert next(value for _, value in items.choices).endswith(":greeting")
    for other in (COMPLAINT, "no-such-call"):  # Bob's call is refused like a missing one
        with pytest.raises(gr.Error, match=f"call '{other}' is not one of your calls"):
            my_calls.open_call(app, ALICE, other)
    assert my_calls.acknowledge_call(app, ALICE, COMPLAINT)[0] == SKIP  # refused: no change
    card_key = f"{items.choices[0][1]}"
    refusal = my_calls.appeal_item(app, ALICE, COMPLAINT, card_key, "not mine")
    assert refusal == [SKIP] * 4
    with pytest.raises(gr.Error, match=r"rita \(reviewer\) may not see their own calls"):
        my_calls.open_call(app, RITA, GOOD)
    denied, body, *_ = my_calls.load(app, RITA)
    assert "for agents" in denied and body.visible is False


def test_acknowledge_appeal_and_overturn_through_the_tabs(app: AppContext) -> None:
    *_, items, _, _ = my_calls.open_call(app, BOB, COMPLAINT)
    greeting = next(value for label, value in items.choices if "Greeting" in label)
    note, table, ack, message = my_calls.acknowledge_call(app, BOB, COMPLAINT)
    assert ack.interactive is False and "You acknowledged" in message
    assert "0 evaluation(s) to acknowledge" in note and list(table["Acknowledged"]) == ["yes"]
    rows, message, comment, _ = my_calls.appeal_item(app, BOB, COMPLAINT, greeting,
                                                     "I greeted the customer at 0:00")  # fmt: skip
    assert message.startswith("Appeal #1 sent: inbound-service/greeting fail → pass")
    assert list(rows["Status"]) == ["open"] and comment == ""

    queue = appeals.list_view(app, SAM, "open")
    assert list(queue["#"]) == [1] and list(queue["Agent"]) == ["1002"]
    detail, picked = appeals.show(app, SAM, 1)
    assert picked == 1 and "I greeted the customer at 0:00" in detail
    assert appeals.decide(app, SAM, 1, True, "", "open") == [SKIP] * 4  # a comment is needed
    with pytest.raises(gr.Error, match=r"rita \(reviewer\) may not uphold or overturn"):
        appeals.decide(app, RITA, 1, True, "fine", "open")
    remaining, detail, message, _ = appeals.decide(app, SAM, 1, True, "greeting heard", "open")
    assert remaining.empty and message == "Appeal #1 overturned." and "overturned" in detail

    db = open_db(app.db_path)
    try:
        (record,) = agent_records(db, agent="1002")
    finally:
        db.close()
    assert (record.average_score, record.acknowledgement_rate, record.appeal_rate,
            record.overturn_rate) == (50.0, 1.0, 1.0, 1.0)  # fmt: skip
    *_, scorecard, _, _, rows, _ = my_calls.open_call(app, BOB, COMPLAINT)
    assert list(rows["Status"]) == ["overturned"] and "greeting heard" in rows["Decision"][0]
    assert 'data-counts="human"' in scorecard and "(50%)" in scorecard


def test_the_rules_tab_counts_the_overturned_item_and_lists_its_call(app: AppContext) -> None:
    *_, items, _, _ = my_calls.open_call(app, BOB, COMPLAINT)
    greeting = next(value for label, value in items.choices if "Greeting" in label)
    my_calls.appeal_item(app, BOB, COMPLAINT, greeting, "I greeted at 0:00")
    appeals.decide(app, SAM, 1, True, "heard it", "open")
    table, flags = rules.rules_view(app, SAM, "", "")
    rows = {(r["Rule"], r["Version"]): r for r in table.to_dict("records")}
    row = rows["inbound-service/greeting", "1"]  # Alice's pass, Bob's fail overturned
    assert (row["Decisions"], row["Confirmed"], row["Overridden"]) == (2, 1, 1)
    assert (row["Fail precision"], row["Pass precision"]) == ("0% of 1", "100% of 1")
    assert list(flags["Flag"]) == ["inbound-service/complaint"]
    behind = rules.calls_behind(app, SAM, "inbound-service/greeting", "1", "", "")
    assert f"Failed by the machine, passed by the reviewer (1): `{COMPLAINT}`" in behind
    for refused_user in (RITA, BOB):
        with pytest.raises(gr.Error, match="may not see how often reviewers agree"):
            rules.rules_view(app, refused_user, "", "")
    denied, body, *_ = rules.load(app, RITA)
    assert "supervisors, auditors and admins" in denied and body.visible is False
