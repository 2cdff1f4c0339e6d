"""Reviewing calls (qa.review.state, qa.review.submit, qa.review.assignment): decisions, what
counts, the audit log, and who may do what with a review.

Calls are written through the pipeline's own save path (qa.results.store) with scorecards made by
the scorer's rule; ``store_call`` is shared with test_queues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calldata import Call, Flag, ItemResult, Scorecard, Transcript, Turn, Verdict
from calldata import Role as Speaker
from qa.access.audit_log import entries
from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.config import default_rubrics_dir
from qa.db import memory_db
from qa.results.store import insert_scorecards, save_call, save_results
from qa.review.assignment import assign, assign_round_robin, claim, dispute, release, worklist
from qa.review.state import (
    Decision,
    ItemChoice,
    PassMarkUnknownError,
    ReviewConflictError,
    ReviewInputError,
    ReviewStatus,
    effective_scorecards,
    get_review,
    item_decisions,
    rubric_pass_marks,
)
from qa.review.submit import submit_review

DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    id: str
    result: Verdict
    weight: float = 1.0
    critical: bool = False


def make_card(
    call_id: str,
    items: list[Item],
    *,
    flags: tuple[Flag, ...] = (),
    rubric: str = "inbound-service",
    version: str = "1",
    pass_mark: float | None = 80.0,
) -> Scorecard:
    """A scorecard judged by the scorer's rule (critical failure zeroes; pass at pass_mark)."""
    applicable = [i for i in items if i.result is not Verdict.NA]
    total = sum(i.weight for i in applicable)
    earned = sum(i.weight for i in applicable if i.result is Verdict.PASS)
    critical = any(i.critical and i.result is Verdict.FAIL for i in applicable)
    score = 0.0 if critical or total <= 0 else round(100.0 * earned / total, 2)
    return Scorecard(
        call_id=call_id, rubric_id=rubric, rubric_version=version, score=score,
        max_score=100.0 if total else 0.0,
        passed=not critical and (total <= 0 or score >= (pass_mark or 80.0)),
        items=tuple(ItemResult(id=i.id, title=i.id.title(), result=i.result, weight=i.weight,
                               critical=i.critical) for i in items),
        flags=flags, pass_mark=pass_mark,
    )  # fmt: skip


def store_call(
    db,
    call_id: str,
    start: datetime,
    agent: str,
    items: list[Item],
    *,
    flags: tuple[Flag, ...] = (),
    confidence: float = 0.9,
    role_confidence: float = 1.0,
    pass_mark: float | None = 80.0,
    version: str = "1",
) -> None:
    """A scored call of ``agent`` in the store, with a one-turn transcript of ``confidence``."""
    call = Call(call_id=call_id, recordings=(f"{call_id}.wav",), start=start, agent=agent,
                agent_name=f"Agent {agent}")  # fmt: skip
    transcript = Transcript(
        language="en",
        turns=(Turn(index=0, speaker="ch1", role=Speaker.AGENT, start=0.0, end=2.0,
                    text="Hello, Acme Telecom.", confidence=confidence),),
        channel_mode="mono", role_confidence=role_confidence, duration=2.0,
    )  # fmt: skip
    save_call(db, call, Path("/nonexistent-store"), status="pending")
    card = make_card(call_id, items, flags=flags, pass_mark=pass_mark, version=version)
    save_results(db, call_id, transcript, [card])


@pytest.fixture
def db():
    store = memory_db()
    store_call(
        store, "c1", DAY, "1001",
        [Item("greeting", Verdict.PASS), Item("identity", Verdict.NA, weight=2, critical=True),
         Item("closing", Verdict.FAIL), Item("empathy", Verdict.PASS)],
    )  # fmt: skip
    store_call(store, "c2", DAY + timedelta(hours=1), "1002", [Item("greeting", Verdict.FAIL)])
    store_call(store, "c3", DAY + timedelta(hours=2), "1002", [Item("greeting", Verdict.PASS)])
    return store


def user(db, name: str, role: Role) -> User:
    return add_user(db, name, "password 123", role)


def _card_id(db, call_id: str) -> int:
    (card,) = effective_scorecards(db, [call_id])[call_id]
    return card.scorecard_id


def _confirm_all(db, call_id: str, **changes: ItemChoice) -> list[ItemChoice]:
    """A choice per item of the call's card: confirm, unless ``changes`` names the item."""
    (card,) = effective_scorecards(db, [call_id])[call_id]
    return [
        changes.get(item.id, ItemChoice(card.scorecard_id, item.id, Decision.CONFIRMED))
        for item in card.machine.items
    ]


# --- what counts -------------------------------------------------------------------------------


def test_unreviewed_calls_count_as_the_machine_scored_them(db) -> None:
    cards = effective_scorecards(db)
    assert sorted(cards) == ["c1", "c2", "c3"]
    (c1,) = cards["c1"]
    assert not c1.reviewed and c1.card == c1.machine and c1.decisions == ()
    assert (c1.card.score, c1.card.passed) == (66.67, False)  # 2 of 3 applicable points
    assert effective_scorecards(db, ["c2", "nope"]).keys() == {"c2"}


def test_the_human_result_counts_and_the_machine_result_is_kept(db) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    card_id = _card_id(db, "c1")
    override = ItemChoice(card_id, "closing", Decision.OVERRIDDEN, Verdict.PASS,
                          "closed politely at 0:58; ASR misheard")  # fmt: skip
    review = submit_review(db, "c1", lin, _confirm_all(db, "c1", closing=override),
                           comment="good call")  # fmt: skip
    assert review.status is ReviewStatus.DONE and review.submitted_by == "lin"
    assert review.comment == "good call" and review.revision == 1

    (c1,) = effective_scorecards(db, ["c1"])["c1"]
    assert c1.reviewed and c1.reviewer == "lin" and c1.review_status is ReviewStatus.DONE
    assert c1.card.item("closing").result is Verdict.PASS
    assert (c1.card.score, c1.card.passed) == (100.0, True)
    assert c1.pass_mark == 80.0
    # The machine's card is untouched, in the result and in the store.
    assert c1.machine.item("closing").result is Verdict.FAIL
    assert (c1.machine.score, c1.machine.passed) == (66.67, False)
    stored = db.execute("select score, passed from scorecards where id = ?", [card_id]).fetchone()
    assert stored == (66.67, 0)

    decisions = {d.item_id: d for d in item_decisions(db, "c1")}
    assert [d.item_id for d in item_decisions(db, "c1")] == [
        "greeting", "identity", "closing", "empathy"
    ]  # fmt: skip
    closing = decisions["closing"]
    assert (closing.decision, closing.machine_verdict, closing.verdict) == (
        Decision.OVERRIDDEN, Verdict.FAIL, Verdict.PASS
    )  # fmt: skip
    assert closing.changed and closing.reviewer == "lin" and "ASR misheard" in closing.comment
    greeting = decisions["greeting"]
    assert greeting.decision is Decision.CONFIRMED and not greeting.changed
    assert c1.decisions == item_decisions(db, "c1")


def test_reject_flips_pass_and_fail_and_a_critical_failure_fails_the_call(db) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    card_id = _card_id(db, "c1")
    choices = _confirm_all(
        db, "c1",
        greeting=ItemChoice(card_id, "greeting", Decision.REJECTED),
        identity=ItemChoice(card_id, "identity", Decision.OVERRIDDEN, Verdict.FAIL,
                            "changed the address without asking the password"),
    )  # fmt: skip
    submit_review(db, "c1", lin, choices)
    (c1,) = effective_scorecards(db, ["c1"])["c1"]
    assert c1.card.item("greeting").result is Verdict.FAIL
    assert c1.card.item("identity").result is Verdict.FAIL
    assert (c1.card.score, c1.card.passed) == (0.0, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ItemChoice(0, "closing", Decision.OVERRIDDEN, Verdict.PASS, "  "), "needs a comment"),
        (ItemChoice(0, "closing", Decision.OVERRIDDEN, None, "why"), "needs the verdict"),
        (ItemChoice(0, "closing", Decision.OVERRIDDEN, Verdict.FAIL, "why"), "confirm it instead"),
        (ItemChoice(0, "identity", Decision.REJECTED), "N/A verdict cannot be rejected"),
        (ItemChoice(0, "closing", Decision.CONFIRMED, Verdict.PASS), "override the item"),
    ],
)
def test_inconsistent_decisions_are_refused(db, change: ItemChoice, message: str) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    card_id = _card_id(db, "c1")
    fixed = ItemChoice(card_id, change.item_id, change.decision, change.verdict, change.comment)
    with pytest.raises(ReviewInputError, match=message):
        submit_review(db, "c1", lin, _confirm_all(db, "c1", **{change.item_id: fixed}))
    assert get_review(db, "c1") is None  # nothing was written
    assert item_decisions(db, "c1") == () and entries(db, call_id="c1") == []


def test_every_item_needs_a_decision(db) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    card_id = _card_id(db, "c1")
    with pytest.raises(ReviewInputError, match="undecided: inbound-service/identity, "):
        submit_review(db, "c1", lin, [ItemChoice(card_id, "greeting", Decision.CONFIRMED)])


def test_the_pass_mark_comes_from_the_card_or_the_rubric_files(tmp_path) -> None:
    db = memory_db()
    lin = user(db, "lin", Role.REVIEWER)
    # Scored before cards kept their pass mark, by the shipped rubric's version.
    marks = rubric_pass_marks(default_rubrics_dir())
    version = next(v for (rubric, v) in marks if rubric == "inbound-service")
    assert marks[("inbound-service", version)] == 80
    items = [Item("a", Verdict.PASS, weight=3), Item("b", Verdict.FAIL, weight=1)]  # 75%
    store_call(db, "old", DAY, "1001", items, pass_mark=None, version=version)
    store_call(db, "older", DAY, "1001", items, pass_mark=None, version="0.1")
    flip = {"b": ItemChoice(_card_id(db, "old"), "b", Decision.REJECTED)}
    submit_review(db, "old", lin, _confirm_all(db, "old", **flip), pass_marks=marks)
    (old,) = effective_scorecards(db, ["old"])["old"]
    assert (old.card.score, old.card.passed, old.pass_mark) == (100.0, True, 80)
    # A rubric version nobody has any more: a changed verdict cannot be re-judged...
    flip = {"b": ItemChoice(_card_id(db, "older"), "b", Decision.REJECTED)}
    with pytest.raises(PassMarkUnknownError, match="--config naming the rubrics folder"):
        submit_review(db, "older", lin, _confirm_all(db, "older", **flip), pass_marks=marks)
    # ...but confirming every verdict needs no pass mark.
    submit_review(db, "older", lin, _confirm_all(db, "older"), pass_marks=marks)
    (older,) = effective_scorecards(db, ["older"])["older"]
    assert older.reviewed and older.card == older.machine and older.pass_mark is None


def test_a_review_of_an_older_rubric_version_does_not_apply_to_a_rescored_call(db) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    flip = {"greeting": ItemChoice(_card_id(db, "c2"), "greeting", Decision.REJECTED)}
    submit_review(db, "c2", lin, _confirm_all(db, "c2", **flip))
    with db.conn:
        insert_scorecards(db, [make_card("c2", [Item("greeting", Verdict.FAIL)], version="2")])
    (c2,) = effective_scorecards(db, ["c2"])["c2"]
    assert c2.machine.rubric_version == "2" and not c2.reviewed
    assert c2.card.item("greeting").result is Verdict.FAIL
    assert len(item_decisions(db, "c2")) == 1  # the old decision stays stored


# --- the audit log -----------------------------------------------------------------------------


def test_every_change_is_in_the_audit_log_with_who_when_before_after_and_why(db) -> None:
    lin = user(db, "lin", Role.REVIEWER)
    claim(db, "c1", lin)
    card_id = _card_id(db, "c1")
    override = ItemChoice(card_id, "closing", Decision.OVERRIDDEN, Verdict.PASS, "heard at 0:58")
    submit_review(db, "c1", lin, _confirm_all(db, "c1", closing=override), comment="fine")
    log = entries(db, call_id="c1")
    assert [(e.actor, e.action) for e in log] == [
        ("lin", "review.claim"), ("lin", "item.override"), ("lin", "review.submit")
    ]  # fmt: skip
    claimed, item, submitted = log
    assert (claimed.before, claimed.after) == ("new, unassigned", "in_review, lin")
    assert (item.target, item.before, item.after, item.reason) == (
        "inbound-service/closing", "fail", "overridden: pass", "heard at 0:58"
    )  # fmt: skip
    assert submitted.before == "in_review; inbound-service 66.67/100 FAIL"
    assert submitted.after == "done; inbound-service 100/100 pass"
    assert submitted.reason == "fine"
    assert abs(item.at - datetime.now(UTC)) < timedelta(minutes=1)

    # Submitting again logs only what changed, from the previous human verdict.
    back = ItemChoice(card_id, "closing", Decision.CONFIRMED, comment="re-listened: no closing")
    submit_review(db, "c1", lin, _confirm_all(db, "c1", closing=back))
    again = entries(db, call_id="c1")[3:]
    assert [(e.action, e.before, e.after) for e in again] == [
        ("item.confirm", "overridden: pass", "confirmed: fail"),
        ("review.submit", "done; inbound-service 100/100 pass",
         "done; inbound-service 66.67/100 FAIL"),
    ]  # fmt: skip
    assert get_review(db, "c1").revision == 2


# --- who may change a review -------------------------------------------------------------------


def test_a_reviewer_cannot_change_another_reviewers_submitted_review(db) -> None:
    lin, mei = user(db, "lin", Role.REVIEWER), user(db, "mei", Role.REVIEWER)
    sam = user(db, "sam", Role.SUPERVISOR)
    submit_review(db, "c2", lin, _confirm_all(db, "c2"))
    flip = {"greeting": ItemChoice(_card_id(db, "c2"), "greeting", Decision.REJECTED)}
    with pytest.raises(PermissionDeniedError, match="submitted by lin: only they or a supervisor"):
        submit_review(db, "c2", mei, _confirm_all(db, "c2", **flip))
    assert effective_scorecards(db, ["c2"])["c2"][0].card.item("greeting").result is Verdict.FAIL
    submit_review(db, "c2", lin, _confirm_all(db, "c2", **flip))  # the submitter may
    submit_review(db, "c2", sam, _confirm_all(db, "c2"))  # and so may a supervisor
    (c2,) = effective_scorecards(db, ["c2"])["c2"]
    assert c2.reviewer == "sam" and c2.card.item("greeting").result is Verdict.FAIL


def test_auditors_do_not_review(db) -> None:
    ada = user(db, "ada", Role.AUDITOR)
    with pytest.raises(PermissionDeniedError, match=r"ada \(auditor\) may not claim"):
        submit_review(db, "c2", ada, _confirm_all(db, "c2"))
    with pytest.raises(PermissionDeniedError):
        claim(db, "c2", ada)


# --- claiming and assigning --------------------------------------------------------------------


def test_claim_and_release(db) -> None:
    lin, mei = user(db, "lin", Role.REVIEWER), user(db, "mei", Role.REVIEWER)
    review = claim(db, "c2", lin)
    assert (review.status, review.assignee) == (ReviewStatus.IN_REVIEW, "lin")
    assert claim(db, "c2", lin) == review  # claiming again changes nothing
    with pytest.raises(ReviewConflictError, match="claimed by lin: ask them or a supervisor"):
        claim(db, "c2", mei)
    with pytest.raises(ReviewConflictError, match="claimed by lin"):
        submit_review(db, "c2", mei, _confirm_all(db, "c2"))
    with pytest.raises(ReviewConflictError, match="not yours to release: it is lin's"):
        release(db, "c2", mei)
    released = release(db, "c2", lin, "no time today")
    assert (released.status, released.assignee) == (ReviewStatus.NEW, None)
    assert claim(db, "c2", mei).assignee == "mei"
    assert [e.reason for e in entries(db, action_prefix="review.release")] == ["no time today"]


def test_supervisors_assign_and_reviewers_cannot(db) -> None:
    lin, mei = user(db, "lin", Role.REVIEWER), user(db, "mei", Role.REVIEWER)
    sam = user(db, "sam", Role.SUPERVISOR)
    ada = user(db, "ada", Role.AUDITOR)
    with pytest.raises(PermissionDeniedError, match="needs the role admin or supervisor"):
        assign(db, "c1", "mei", lin)
    with pytest.raises(ValueError, match="'ada' is not a user who reviews calls"):
        assign(db, "c1", ada.username, sam)
    review = assign(db, "c1", "lin", sam)
    assert (review.status, review.assignee, review.assigned_by) == (ReviewStatus.NEW, "lin", "sam")
    with pytest.raises(ReviewConflictError, match="assigned to lin"):
        claim(db, "c1", mei)
    claim(db, "c1", lin)
    assert assign(db, "c1", "mei", sam).assignee == "mei"  # a supervisor takes it over
    assert [w.call_id for w in worklist(db, "mei")] == ["c1"] and worklist(db, "lin") == []


def test_round_robin_deals_unassigned_calls_in_turn(db) -> None:
    user(db, "lin", Role.REVIEWER), user(db, "mei", Role.REVIEWER)
    sam = user(db, "sam", Role.SUPERVISOR)
    for n in range(4, 9):
        store_call(db, f"c{n}", DAY + timedelta(hours=n), "1003", [Item("a", Verdict.PASS)])
    for n in range(1, 9):
        if n != 3:
            db.execute("insert into reviews (call_id, status, comment, revision, created_at, "
                       "updated_at) values (?, 'new', '', 0, '2026-01-01', '2026-01-01')",
                       [f"c{n}"])  # fmt: skip
    dealt = assign_round_robin(db, ["lin", "mei"], sam, limit=3)
    assert dealt == {"lin": ["c1", "c4"], "mei": ["c2"]}
    dealt = assign_round_robin(db, ["lin", "mei"], sam)  # mei's turn next
    assert dealt == {"lin": ["c6", "c8"], "mei": ["c5", "c7"]}
    assert [w.call_id for w in worklist(db, "lin")] == ["c1", "c4", "c6", "c8"]
    assert assign_round_robin(db, ["lin"], sam) == {"lin": []}


def test_dispute_puts_a_submitted_review_back_on_the_submitters_worklist(db) -> None:
    lin, sam = user(db, "lin", Role.REVIEWER), user(db, "sam", Role.SUPERVISOR)
    with pytest.raises(ReviewConflictError, match="only a submitted"):
        dispute(db, "c2", sam, "agent contests")
    submit_review(db, "c2", lin, _confirm_all(db, "c2"))
    assert worklist(db, "lin") == []
    with pytest.raises(PermissionDeniedError):
        dispute(db, "c2", lin, "I changed my mind")
    with pytest.raises(ValueError, match="say why"):
        dispute(db, "c2", sam, " ")
    disputed = dispute(db, "c2", sam, "agent says the greeting was there")
    assert disputed.status is ReviewStatus.DISPUTED
    (item,) = worklist(db, "lin")
    assert (item.call_id, item.status) == ("c2", ReviewStatus.DISPUTED)
    assert effective_scorecards(db, ["c2"])["c2"][0].reviewed  # still counts meanwhile
    flip = {"greeting": ItemChoice(_card_id(db, "c2"), "greeting", Decision.OVERRIDDEN,
                                   Verdict.PASS, "greeting at 0:01 after all")}  # fmt: skip
    assert submit_review(db, "c2", lin, _confirm_all(db, "c2", **flip)).status is ReviewStatus.DONE
    assert worklist(db, "lin") == []


# --- the read-model the app shows ----------------------------------------------------------------


def test_the_call_list_and_call_view_show_the_result_that_counts_masked_for_reviewers(db) -> None:
    from qa.review.call_view import call_detail, list_calls

    lin = user(db, "lin", Role.REVIEWER)
    flip = {"greeting": ItemChoice(_card_id(db, "c2"), "greeting", Decision.OVERRIDDEN,
                                   Verdict.PASS, "said hello; caller on 415 555 0134")}  # fmt: skip
    submit_review(db, "c2", lin, _confirm_all(db, "c2", **flip), comment="ring 415 555 0134")
    rows = {row.call_id: row for row in list_calls(db)}
    assert (rows["c2"].score, rows["c2"].passed) == (100.0, True)  # the machine said 0, FAIL
    assert (rows["c2"].review_status, rows["c2"].reviewed_by) == ("done", "lin")
    assert (rows["c3"].review_status, rows["c3"].reviewed_by) == (None, None)
    assert [r.call_id for r in list_calls(db, passed=False)] == ["c1"]

    shown = call_detail(db, "c2", viewer_role=Role.REVIEWER)
    assert shown.review.status is ReviewStatus.DONE and shown.scorecards[0].score == 0.0
    (card,) = shown.reviewed
    assert card.card.item("greeting").result is Verdict.PASS
    assert "415 555 0134" not in card.decisions[0].comment + shown.review.comment
    assert "[phone ···0134]" in shown.review.comment
    assert all("415 555 0134" not in (e.reason + (e.after or "")) for e in shown.audit_trail)
    assert [e.action for e in shown.audit_trail] == ["item.override", "review.submit"]
    unmasked = call_detail(db, "c2", viewer_role=Role.AUDITOR)
    assert "415 555 0134" in unmasked.reviewed[0].decisions[0].comment
