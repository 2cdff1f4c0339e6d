"""Agents as users (qa.access.agent_links, qa.review.agent_view) and their answers to evaluations
(qa.review.appeals): acknowledging, appealing within the window, the lead's decision, what counts
afterwards, the audit trail, and that an agent never reaches another agent's calls.

The store is tests/review_store.py's: Bob's complaint call 1763655760.42 (greeting and closing
failed, identity N/A; 0 of 2 points) and Alice's good call 1763651705.11 (all passed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from review_store import PHONE, build_review_store

from calldata import Verdict
from qa.access.agent_links import agent_of, link_agent
from qa.access.audit_log import entries
from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role, User
from qa.access.users import UserError, add_user
from qa.config import AppealSettings
from qa.db import open_db
from qa.records.agents import agent_records
from qa.review.agent_view import own_call, own_call_audio, own_calls
from qa.review.appeals import (
    AppealStatus,
    NotLinkedError,
    acknowledge,
    decide_appeal,
    list_appeals,
    open_appeal,
)
from qa.review.state import (
    Decision,
    ItemChoice,
    ReviewConflictError,
    ReviewInputError,
    effective_scorecards,
)
from qa.review.submit import submit_review

GOOD, COMPLAINT = "1763651705.11", "1763655760.42"
PASSWORD = "a long enough password"
MARKS = {("inbound-service", "1"): 80.0}
SETTINGS = AppealSettings()
RITA = User("rita", Role.REVIEWER)
SAM = User("sam", Role.SUPERVISOR)
BOB = User("bob", Role.AGENT)
ALICE = User("alice", Role.AGENT)


def evaluate(db, call_id: str) -> int:
    """Rita confirms every item of the call; returns its scorecard id."""
    (card,) = effective_scorecards(db, [call_id])[call_id]
    choices = [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED) for i in card.machine.items]
    submit_review(db, call_id, RITA, choices, comment=f"called back on {PHONE}", pass_marks=MARKS)
    return card.scorecard_id


@pytest.fixture
def db(tmp_path: Path):
    store = open_db(build_review_store(tmp_path))
    for user in (RITA, SAM, BOB, ALICE):
        add_user(store, user.username, PASSWORD, user.role)
    link_agent(store, "bob", "1002", by="ada")
    link_agent(store, "alice", "Alice Smith")  # an agent may be linked by queue member name
    yield store
    store.close()


def test_only_agents_are_linked_and_the_link_is_audited(db) -> None:
    assert (agent_of(db, "bob"), agent_of(db, "alice"), agent_of(db, "rita")) == (
        "1002", "Alice Smith", None)  # fmt: skip
    with pytest.raises(UserError, match="rita is a reviewer: only users of role agent"):
        link_agent(db, "rita", "1001")
    with pytest.raises(UserError, match="no user 'nobody'"):
        link_agent(db, "nobody", "1001")
    (entry,) = entries(db, action_prefix="user.link_agent", actor="ada")
    assert (entry.actor, entry.after) == ("ada", "1002")


def test_an_agent_sees_only_their_own_calls_masked(db) -> None:
    assert [c.call_id for c in own_calls(db, BOB)] == [COMPLAINT]
    assert sorted(c.call_id for c in own_calls(db, ALICE)) == ["1763640000.3", GOOD]
    detail, appeals = own_call(db, BOB, COMPLAINT)
    assert detail.masked and detail.call.caller != "5552223333" and detail.queues == ()
    assert appeals == ()
    evaluate(db, GOOD)
    detail, _ = own_call(db, ALICE, GOOD)
    assert PHONE not in detail.review.comment and PHONE not in str(detail.transcript)


def test_another_agents_call_is_refused_like_an_unknown_one(db, tmp_path: Path) -> None:
    card_id = evaluate(db, GOOD)
    for action in (
        lambda call_id: own_call(db, BOB, call_id),
        lambda call_id: own_call_audio(db, BOB, call_id, tmp_path / "audio"),
        lambda call_id: acknowledge(db, BOB, call_id),
        lambda call_id: open_appeal(db, BOB, call_id, card_id, "greeting", "mine", SETTINGS),
    ):
        for call_id in (GOOD, "no-such-call"):
            with pytest.raises(PermissionDeniedError) as refused:
                action(call_id)
            assert str(refused.value) == f"call {call_id!r} is not one of your calls"
    assert list_appeals(db) == [] and entries(db, action_prefix="evaluation.") == []


def test_staff_and_unlinked_agents_have_no_own_calls(db) -> None:
    with pytest.raises(PermissionDeniedError, match="may not see their own calls"):
        own_calls(db, RITA)
    add_user(db, "carl", PASSWORD, Role.AGENT)
    with pytest.raises(NotLinkedError, match="qa users link-agent carl"):
        own_calls(db, User("carl", Role.AGENT))


def test_acknowledge_then_appeal_then_overturn_changes_what_counts(db) -> None:
    card_id = evaluate(db, COMPLAINT)
    with pytest.raises(ReviewConflictError, match="no submitted evaluation"):
        acknowledge(db, ALICE, "1763640000.3")
    assert acknowledge(db, BOB, COMPLAINT) is True
    assert acknowledge(db, BOB, COMPLAINT) is False  # once per evaluation
    with pytest.raises(ReviewInputError, match="say in the comment why"):
        open_appeal(db, BOB, COMPLAINT, card_id, "greeting", "  ", SETTINGS)
    appeal = open_appeal(db, BOB, COMPLAINT, card_id, "greeting", "I said hello at 0:00",
                         SETTINGS)  # fmt: skip
    assert (appeal.status, appeal.verdict_before, appeal.verdict_sought, appeal.round) == (
        AppealStatus.OPEN, Verdict.FAIL, Verdict.PASS, 1)  # fmt: skip
    with pytest.raises(ReviewConflictError, match="already has an open appeal"):
        open_appeal(db, BOB, COMPLAINT, card_id, "greeting", "again", SETTINGS)
    with pytest.raises(PermissionDeniedError, match="uphold or overturn"):
        decide_appeal(db, RITA, appeal.appeal_id, overturn=True, comment="x", settings=SETTINGS)
    before = agent_records(db, agent="1002")[0]
    assert (before.evaluations, before.acknowledged, before.appealed) == (1, 1, 1)
    assert (before.acknowledgement_rate, before.appeal_rate, before.overturn_rate) == (1, 1, None)
    assert before.average_score == 0.0

    decided = decide_appeal(db, SAM, appeal.appeal_id, overturn=True,
                            comment="greeting heard on the recording", settings=SETTINGS,
                            pass_marks=MARKS)  # fmt: skip
    assert (decided.status, decided.decided_by) == (AppealStatus.OVERTURNED, "sam")
    (card,) = effective_scorecards(db, [COMPLAINT])[COMPLAINT]
    assert card.card.item("greeting").result is Verdict.PASS  # the human result counts
    assert card.machine.item("greeting").result is Verdict.FAIL  # the machine's is kept
    assert (card.card.score, card.card.passed) == (50.0, False)
    after = agent_records(db, agent="1002")[0]
    assert (after.average_score, after.overturn_rate, after.item_pass_rates["greeting"]) == (
        50.0, 1.0, 1.0)  # fmt: skip
    # final: no second round unless the site allows it
    with pytest.raises(ReviewConflictError, match="overturned by sam; that decision is final"):
        open_appeal(db, BOB, COMPLAINT, card_id, "greeting", "more", SETTINGS)
    trail = [(e.actor, e.action, e.target, e.before, e.after)
             for e in entries(db, call_id=COMPLAINT)
             if e.action.startswith(("appeal.", "evaluation."))]  # fmt: skip
    assert trail == [
        ("bob", "evaluation.acknowledge", "evaluation", None, "revision 1"),
        ("bob", "appeal.open", "inbound-service/greeting", "fail", "sought: pass"),
        ("sam", "appeal.overturn", "inbound-service/greeting", "fail", "pass"),
    ]


def test_the_window_closes_and_a_second_round_needs_the_site_setting(db) -> None:
    card_id = evaluate(db, COMPLAINT)
    late = datetime.now(UTC) + timedelta(days=8)
    with pytest.raises(ReviewConflictError, match="window to appeal closed"):
        open_appeal(db, BOB, COMPLAINT, card_id, "closing", "late", SETTINGS, now=late)
    first = open_appeal(db, BOB, COMPLAINT, card_id, "closing", "I said goodbye", SETTINGS)
    decide_appeal(db, SAM, first.appeal_id, overturn=False, comment="no closing phrase",
                  settings=SETTINGS)  # fmt: skip
    with pytest.raises(ReviewConflictError, match="upheld by sam; that decision is final"):
        open_appeal(db, BOB, COMPLAINT, card_id, "closing", "please", SETTINGS)
    two_rounds = AppealSettings(second_round=True, window_days=3, settled_by=("lee",))
    second = open_appeal(db, BOB, COMPLAINT, card_id, "closing", "listen at 0:10", two_rounds)
    assert second.round == 2
    with pytest.raises(PermissionDeniedError, match="settled by lee at this site"):
        decide_appeal(db, SAM, second.appeal_id, overturn=True, comment="ok", settings=two_rounds)
    add_user(db, "lee", PASSWORD, Role.SUPERVISOR)
    decide_appeal(db, User("lee", Role.SUPERVISOR), second.appeal_id, overturn=False,
                  comment="still none", settings=two_rounds)  # fmt: skip
    with pytest.raises(ReviewConflictError, match="final"):
        open_appeal(db, BOB, COMPLAINT, card_id, "closing", "third", two_rounds)
    record = agent_records(db, agent="1002")[0]
    assert (record.appealed, record.appeals_decided, record.overturn_rate) == (1, 2, 0.0)
    today = datetime.now(UTC).date()
    assert len(list_appeals(db, status="upheld", agent="Bob Jones", since=today)) == 2
    assert list_appeals(db, until=date(2026, 1, 1)) == []
