"""The Calibration tab's handlers called directly: a supervisor starts a session of 3 calls × 3
reviewers, each reviewer scores blind, the report gives the agreement, the supervisor records the
agreed answer; an agent and a reviewer outside the session are refused on the server.

The store is tests/review_store.py's three scored calls (all inbound-service v1, three items).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from review_store import build_review_store

from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.db import open_db
from ui import calibration
from ui.context import AppContext

CALLS = "1763651705.11, 1763655760.42, 1763647200.7"
PASSWORD = "a long enough password"
SAM, ROB, BOB = User("sam", Role.SUPERVISOR), User("rob", Role.REVIEWER), User("bob", Role.AGENT)
TRIO = [User(name, Role.REVIEWER) for name in ("rita", "ria", "rex")]


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    for person in (SAM, ROB, BOB, *TRIO):
        add_user(db, person.username, PASSWORD, person.role)
    db.close()
    return AppContext(db_path=db_path, audio_dir=tmp_path)


def test_a_session_of_three_calls_by_three_reviewers_gives_its_report(ctx) -> None:
    denied, body, sessions, lead, people = calibration.load(ctx, SAM)
    assert denied == "" and body.visible is True and sessions.choices == []
    assert lead.visible is True and ("rita", "rita") in people.choices
    chosen, note = calibration.start(ctx, SAM, "November", CALLS, [p.username for p in TRIO])
    assert chosen.value == 1 and note.startswith("Started session #1: 3 call(s)")
    for position, person in enumerate(TRIO):
        items, choices, *_ = calibration.open_session(ctx, person, 1)
        assert len(items) == 9 and set(items.columns) == {"Call", "Rubric", "Item", "Your verdict"}
        for _, key in choices.choices:  # rex fails every greeting; the others pass everything
            verdict = "fail" if position == 2 and key.endswith(":greeting") else "pass"
            frame, note = calibration.save_verdict(ctx, person, 1, key, verdict)
            assert verdict in set(frame["Your verdict"])
        assert note == "Saved. You have scored 9 of 9 item(s)."
    _, _, summary, report, answers = calibration.open_session(ctx, SAM, 1)
    rows = {row["Item"]: row for row in report.to_dict("records")}
    assert rows["inbound-service/greeting"]["Agreement"] == "33%"  # 2 of 3 pairs disagree
    assert rows["inbound-service/closing"]["Agreement"] == "100%"
    assert rows["inbound-service/closing"]["Machine = consensus"] == "67%"  # the complaint failed
    assert "rex: scored 9/9, off the consensus 33%" in summary
    key = next(value for label, value in answers.choices if "greeting" in label)
    summary, report = calibration.answer(ctx, SAM, 1, key, "pass", "greeted by name")
    assert "pass" in report.to_dict("records")[0]["Agreed answer"]


def test_agents_and_outsiders_are_refused(ctx) -> None:
    calibration.start(ctx, SAM, "Two", CALLS, ["rita", "ria"])
    denied, body, *_ = calibration.load(ctx, BOB)
    assert "for reviewers of a session" in denied and body.visible is False
    with pytest.raises(gr.Error, match=r"bob \(agent\) may not"):
        calibration.open_session(ctx, BOB, 1)
    with pytest.raises(gr.Error, match="not a reviewer of session #1"):
        calibration.open_session(ctx, ROB, 1)
    assert calibration.save_verdict(ctx, ROB, 1, "1:greeting", "pass") == [gr.skip()] * 2
    with pytest.raises(gr.Error, match=r"rita \(reviewer\) may not start calibration"):
        calibration.start(ctx, TRIO[0], "Mine", CALLS, ["rita", "ria"])
    _, _, sessions, lead, _ = calibration.load(ctx, ROB)
    assert sessions.choices == [] and lead.visible is False


def test_a_reviewer_scores_the_exceptions_then_gives_the_rest_one_verdict(ctx) -> None:
    calibration.start(ctx, SAM, "December", CALLS, [p.username for p in TRIO])
    rita = TRIO[0]
    _, choices, *_ = calibration.open_session(ctx, rita, 1)
    greeting = next(key for _, key in choices.choices if key.endswith(":greeting"))
    calibration.save_verdict(ctx, rita, 1, greeting, "fail")
    frame, note = calibration.save_rest(ctx, rita, 1, "pass")
    assert note == "Saved pass on 8 item(s). You have scored 9 of 9 item(s)."
    assert sorted(frame["Your verdict"]) == ["fail"] + ["pass"] * 8  # the exception kept
    # Nothing left: saving the rest again changes nothing.
    assert calibration.save_rest(ctx, rita, 1, "fail")[1].startswith("Saved fail on 0 item(s)")
    with pytest.raises(gr.Error, match="may not"):
        calibration.save_rest(ctx, BOB, 1, "pass")  # agents do not calibrate
    assert calibration.save_rest(ctx, ROB, 1, "pass") == [gr.skip()] * 2  # not in the session
