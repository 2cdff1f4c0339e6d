"""Calibration sessions (qa.review.calibration): Fleiss' kappa against a published example, a
session of 3 calls × 3 reviewers against a hand count, blind scoring, the agreed answer, and that
calibration never counts in agent records.

Hand count (rubric inbound-service v1; the machine's verdict, then rita, rob, ria):

    call  greeting        closing
    c1    pass: P P P     fail: F F F
    c2    fail: F F P     fail: F F F
    c3    pass: P P P     fail: P F P     (the machine fails c3's closing; the consensus passes it)

    greeting: pair agreement (1 + 1/3 + 1) / 3 = 7/9; pass 7/9, fail 2/9 of the votes: chance
              53/81, kappa (7/9 - 53/81) / (1 - 53/81) = 5/14; machine = consensus on 3 of 3
    closing:  pair agreement 7/9, kappa 5/14; machine = consensus on 2 of 3
    overall:  pass and fail half each: chance 1/2, kappa (7/9 - 1/2) / (1/2) = 5/9
    deviation from the consensus: rita 0 of 6, rob 1 of 6 (c3 closing), ria 1 of 6 (c2 greeting)
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from test_review_state import Item, store_call, user

from calldata import Verdict
from qa.access.audit_log import entries
from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role
from qa.access.users import get_user
from qa.cli import main
from qa.db import memory_db, open_db
from qa.records.agents import agent_records
from qa.review.calibration import (
    blind_items,
    calibration_report,
    create_session,
    fleiss_kappa,
    list_sessions,
    record_answer,
    score_items,
)
from qa.review.state import ReviewInputError

DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
P, F = Verdict.PASS, Verdict.FAIL
VOTES = {  # call -> item -> (rita, rob, ria)
    "c1": {"greeting": (P, P, P), "closing": (F, F, F)},
    "c2": {"greeting": (F, F, P), "closing": (F, F, F)},
    "c3": {"greeting": (P, P, P), "closing": (P, F, P)},
}
MACHINE = {"c1": (P, F), "c2": (F, F), "c3": (P, F)}
REVIEWERS = ("rita", "rob", "ria")


def test_fleiss_kappa_matches_the_published_example() -> None:
    # Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert round(fleiss_kappa(table), 3) == 0.210
    assert fleiss_kappa([[3, 0], [3, 0]]) is None  # one category only: undefined
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[3, 0], [2, 0]])


@pytest.fixture
def db():
    store = memory_db()
    for hour, (call_id, (greeting, closing)) in enumerate(MACHINE.items()):
        store_call(store, call_id, DAY + timedelta(hours=hour), "1001",
                   [Item("greeting", greeting), Item("closing", closing)])  # fmt: skip
    for name in REVIEWERS:
        user(store, name, Role.REVIEWER)
    user(store, "sam", Role.SUPERVISOR)
    user(store, "aude", Role.AUDITOR)
    return store


def _people(db) -> dict:
    return {name: get_user(db, name) for name in (*REVIEWERS, "sam", "aude")}


def test_a_session_of_three_calls_and_three_reviewers_matches_the_hand_count(db) -> None:
    people = _people(db)
    before = agent_records(db)
    session = create_session(db, people["sam"], "November", ["c1", "c2", "c3"], REVIEWERS)
    assert (session.call_ids, session.reviewers) == (("c1", "c2", "c3"), ("ria", "rita", "rob"))
    items = blind_items(db, people["rita"], session.session_id)
    assert len(items) == 6 and all(i.mine is None for i in items)
    assert not hasattr(items[0], "verdict")  # blind: neither the machine's nor the others'
    keys = {(i.call_id, i.item_id): (i.scorecard_id, i.item_id) for i in items}
    empty = calibration_report(db, people["sam"], session.session_id)
    assert all(i.calls == 0 for i in empty.items) and empty.kappa is None
    for position, name in enumerate(REVIEWERS):
        verdicts = {keys[call, item]: votes[position] for call, by_item in VOTES.items()
                    for item, votes in by_item.items()}  # fmt: skip
        assert score_items(db, people[name], session.session_id, verdicts) == 6
    report = calibration_report(db, people["sam"], session.session_id)
    found = {i.item_id: i for i in report.items}
    greeting, closing = found["greeting"], found["closing"]
    assert (greeting.calls, round(greeting.agreement, 4), round(greeting.kappa, 4)) == (
        3, round(7 / 9, 4), round(5 / 14, 4))  # fmt: skip
    assert (round(closing.agreement, 4), round(closing.kappa, 4)) == (
        round(7 / 9, 4),
        round(5 / 14, 4),
    )
    assert (greeting.machine_agreement, round(closing.machine_agreement, 4)) == (1.0, 0.6667)
    assert closing.consensus == {"c1": F, "c2": F, "c3": P} and closing.machine["c3"] is F
    assert round(report.kappa, 4) == round(5 / 9, 4)
    assert {k: round(v, 4) for k, v in report.deviation.items()} == {
        "ria": round(1 / 6, 4), "rita": 0.0, "rob": round(1 / 6, 4)}  # fmt: skip
    assert report.scored == {"ria": 6, "rita": 6, "rob": 6} and report.total_items == 6
    record_answer(db, people["sam"], session.session_id, keys["c3", "closing"][0], "closing",
                  P, "offered more help at 0:40: that is a closing")  # fmt: skip
    again = calibration_report(db, people["sam"], session.session_id)
    assert {i.item_id: i.answers for i in again.items}["closing"] == {"c3": P}
    (entry,) = entries(db, action_prefix="calibration.answer")
    assert (entry.actor, entry.call_id, entry.after) == ("sam", "c3", "pass")
    assert agent_records(db) == before  # calibration never counts in agent records
    assert again.to_json()["items"][1]["consensus"] == {"c1": "fail", "c2": "fail", "c3": "pass"}


def test_who_may_do_what_in_a_session(db) -> None:
    people = _people(db)
    with pytest.raises(PermissionDeniedError, match="may not start calibration sessions"):
        create_session(db, people["rita"], "x", ["c1"], REVIEWERS)
    with pytest.raises(ReviewInputError, match="at least two reviewers"):
        create_session(db, people["sam"], "x", ["c1"], ["rita"])
    with pytest.raises(ReviewInputError, match="aude is not a user who reviews calls"):
        create_session(db, people["sam"], "x", ["c1"], ["rita", "aude"])
    session = create_session(db, people["sam"], "Two", ["c1"], ["rita", "rob"])
    with pytest.raises(PermissionDeniedError, match="ria is not a reviewer of calibration"):
        blind_items(db, people["ria"], session.session_id)
    with pytest.raises(PermissionDeniedError, match="may not start calibration sessions"):
        calibration_report(db, people["rita"], session.session_id)
    assert [s.session_id for s in list_sessions(db, people["ria"])] == []
    assert [s.title for s in list_sessions(db, people["rita"])] == ["Two"]


def test_qa_calibration_create_and_report(tmp_path) -> None:
    db_path = tmp_path / "qa.db"
    store = open_db(db_path)
    store_call(store, "c1", DAY, "1001", [Item("greeting", P)])
    for name in ("rita", "rob"):
        user(store, name, Role.REVIEWER)
    store.close()

    def qa(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "no calibration sessions yet" in CliRunner().invoke(
        main, ["calibration", "report", "--db", str(db_path)]).output  # fmt: skip
    assert qa("calibration", "create", "--db", str(db_path), "--title", "Dec", "--call", "c1",
              "--reviewer", "rita", "--reviewer", "rob").startswith(
        "started calibration session #1: 1 call(s), reviewers rita, rob")  # fmt: skip
    store = open_db(db_path)
    (item,) = blind_items(store, get_user(store, "rita"), 1)
    for name, verdict in (("rita", P), ("rob", F)):
        score_items(store, get_user(store, name), 1, {(item.scorecard_id, "greeting"): verdict})
    store.close()
    document = json.loads(qa("calibration", "report", "--db", str(db_path), "--json"))
    assert (document["title"], document["items"][0]["agreement"]) == ("Dec", 0.0)
    assert document["items"][0]["consensus"] == {"c1": None}  # one each way: a tie
    (row,) = csv.DictReader(io.StringIO(qa("calibration", "report", "--db", str(db_path),
                                           "--session", "1", "--csv")))  # fmt: skip
    assert (row["item_id"], row["consensus"], row["machine"]) == ("greeting", "c1=tie", "c1=pass")
    assert "off the consensus -" in qa("calibration", "report", "--db", str(db_path))
