"""Review queues beyond the machine's conditions (qa.review.queues): rules the site trusts
(``[agreement]``) send no call to review, and a customer who felt bad (``[review]``
``negative_shift`` / ``negative_mean`` over the stored ``call_sentiment``) puts the call in the
*Negative sentiment* queue.

Fixture store for trust (rubric inbound-service v1; rita reviewed r1..r4 before the new calls):

    call  greeting (critical)   closing
    r1    fail, confirmed       fail, rejected
    r2    fail, confirmed       fail, confirmed
    r3    fail, confirmed       pass, confirmed
    r4    pass, confirmed       fail, rejected

    greeting: 3 machine fails, 3 kept: fail precision 1.0 -> trusted (at 0.9, 3 decisions judged)
    closing:  3 machine fails, 1 kept: fail precision 0.33 -> attention

New, unreviewed calls: ``t`` fails greeting only (critical, so also a 0% score), ``u`` fails
closing only (a 50% score), ``tu`` fails both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_review_state import Item, store_call, user

from calldata import Verdict
from qa.access.roles import Role
from qa.config import AgreementSettings, ReviewSettings, load_config
from qa.db import memory_db, open_db
from qa.results.sentiment import save_sentiment
from qa.review.agreement import rule_agreement, trusted_rules
from qa.review.queues import QUEUE_LABELS, Queue, queue_calls, queues_mark, refresh_queues
from qa.review.state import Decision, ItemChoice, effective_scorecards, get_review
from qa.review.submit import submit_review
from scoring.sentiment import CallSentiment, TurnSentiment
from ui import queues
from ui.context import AppContext

NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
TRUST = AgreementSettings(min_decisions=3, attention_floor=0.5, skip_review_precision=0.9)
C, R = Decision.CONFIRMED, Decision.REJECTED
F, P = Verdict.FAIL, Verdict.PASS


def _items(greeting: Verdict, closing: Verdict) -> list[Item]:
    return [Item("greeting", greeting, critical=True), Item("closing", closing)]


def _ids(db, queue: Queue) -> set[str]:
    return {row.call_id for row in queue_calls(db, queue)}


@pytest.fixture
def trust_db():
    db = memory_db()
    populate_trust(db)
    return db


def populate_trust(db) -> None:
    """The calls and reviews of the table above."""
    reviewed = {
        "r1": ((F, F), {"greeting": C, "closing": R}),
        "r2": ((F, F), {"greeting": C, "closing": C}),
        "r3": ((F, P), {"greeting": C, "closing": C}),
        "r4": ((P, F), {"greeting": C, "closing": R}),
    }
    rita = user(db, "rita", Role.REVIEWER)
    for hour, (call_id, (verdicts, decisions)) in enumerate(reviewed.items()):
        store_call(db, call_id, DAY - timedelta(days=1, hours=hour), "1001", _items(*verdicts))
        (card,) = effective_scorecards(db, [call_id])[call_id]
        choices = [ItemChoice(card.scorecard_id, item, decision, None, "checked")
                   for item, decision in decisions.items()]  # fmt: skip
        submit_review(db, call_id, rita, choices)
    store_call(db, "t", DAY, "1002", _items(F, P))
    store_call(db, "u", DAY + timedelta(hours=1), "1002", _items(P, F))
    store_call(db, "tu", DAY + timedelta(hours=2), "1002", _items(F, F))


def test_the_fixture_trusts_greeting_and_marks_closing_for_attention(trust_db) -> None:
    status = {rule.item_id: rule.status for rule in rule_agreement(trust_db, settings=TRUST)}
    assert status == {"greeting": "trusted", "closing": "attention"}
    assert trusted_rules(trust_db, TRUST) == {("inbound-service", "1", "greeting")}
    assert trusted_rules(trust_db, AgreementSettings(min_decisions=3)) == set()  # site trusts none


def test_a_trusted_rules_fail_is_not_queued_and_an_untrusted_ones_is(trust_db) -> None:
    summary = refresh_queues(trust_db, ReviewSettings(sample_rate=0.01), NY, TRUST)

    # t: its critical failure and its 0% score rest on greeting alone, which reviewers have
    # always kept: no condition queue takes it.
    assert "t" not in _ids(trust_db, Queue.CRITICAL) | _ids(trust_db, Queue.LOW_SCORE)
    # u: closing's fails are often wrong, so its low score goes to review.
    assert "u" in _ids(trust_db, Queue.LOW_SCORE)
    # tu: closing failed too, so the low score is queued; the critical failure is greeting's.
    assert "tu" in _ids(trust_db, Queue.LOW_SCORE) and "tu" not in _ids(trust_db, Queue.CRITICAL)
    reasons = {row.call_id: row.reason for row in queue_calls(trust_db, Queue.LOW_SCORE)}
    assert reasons["u"] == "score under 70%: inbound-service 50%"
    # Left out, counted: greeting's critical failures (r1, r2, r3, t, tu), and the low scores
    # resting on greeting alone (r3, t); the reviewed calls are scored calls like any other.
    assert summary.trusted == {Queue.CRITICAL: 5, Queue.LOW_SCORE: 2}

    # The verdict stands: the machine's fail is what counts, unreviewed.
    (card,) = effective_scorecards(trust_db, ["t"])["t"]
    assert not card.reviewed and not card.card.passed and card.card.score == 0.0
    # The sample still draws from every agent-day, trusted or not: 1002's one pick of three.
    assert len(_ids(trust_db, Queue.SAMPLE) & {"t", "u", "tu"}) == 1


def test_without_trust_settings_every_fail_is_queued(trust_db) -> None:
    summary = refresh_queues(trust_db, ReviewSettings(), NY)
    assert {"t", "tu"} <= _ids(trust_db, Queue.CRITICAL)
    assert {"t", "u", "tu"} <= _ids(trust_db, Queue.LOW_SCORE)
    assert summary.trusted == {}


def test_a_rule_that_becomes_trusted_withdraws_the_untouched_entries_it_made(trust_db) -> None:
    refresh_queues(trust_db, ReviewSettings(), NY)  # trust not set yet: t is queued
    assert "t" in _ids(trust_db, Queue.CRITICAL)
    mark = queues_mark(trust_db)
    summary = refresh_queues(trust_db, ReviewSettings(), NY, TRUST)
    assert "t" not in _ids(trust_db, Queue.CRITICAL)
    assert summary.withdrawn[Queue.CRITICAL] == 2  # t and tu, nobody had them
    assert queues_mark(trust_db) == mark  # trust is read at refresh: nothing new was saved
    # A review submitted later moves the mark (it may change which rules are trusted).
    (card,) = effective_scorecards(trust_db, ["u"])["u"]
    choices = [ItemChoice(card.scorecard_id, item, C) for item in ("greeting", "closing")]
    submit_review(trust_db, "u", user(trust_db, "lin", Role.REVIEWER), choices)
    assert queues_mark(trust_db) != mark


def test_the_queues_tab_says_how_many_calls_trusted_rules_kept_out(tmp_path: Path) -> None:
    """The Queues tab (ui.queues.load, as Gradio calls it) over the store above."""
    db_path = tmp_path / "qa.db"
    db = open_db(db_path)
    try:
        populate_trust(db)
        lead = user(db, "sam", Role.SUPERVISOR)
    finally:
        db.close()
    ctx = AppContext(db_path=db_path, audio_dir=tmp_path, agreement=TRUST)
    _, frame, *_, note, _ = queues.load(ctx, lead, queues.Queue.CRITICAL.value, False)
    assert frame.empty  # every critical failure is the trusted greeting's
    assert "Rules the site trusts kept 5 out of Critical failures and 2 out of Low scores" in note
    _, frame, *_ = queues.load(ctx, lead, queues.Queue.LOW_SCORE.value, False)
    assert {"u", "tu"} <= set(frame["Call ID"]) and "t" not in set(frame["Call ID"])


def _felt(db, call_id: str, start: float, end: float) -> None:
    turns = (TurnSentiment(1, "customer", 10, 19, start), TurnSentiment(3, "customer", 30, 39, end))
    save_sentiment(
        db, call_id, CallSentiment("test", turns, (start + end) / 2, 0.2, start, end, None)
    )


def test_negative_customer_sentiment_queues_the_call_with_why(tmp_path) -> None:
    config_file = tmp_path / "qa.toml"
    config_file.write_text("[review]\nnegative_shift = -0.5\nnegative_mean = -0.4\n")
    settings = load_config(config_file).review
    db = memory_db()
    for hour, call_id in enumerate(("drop", "sour", "fine", "unmeasured")):
        store_call(db, call_id, DAY + timedelta(hours=hour), "1001", [Item("greeting", P)])
    _felt(db, "drop", 0.4, -0.6)  # shift -1.0, mean -0.1
    _felt(db, "sour", -0.5, -0.5)  # shift 0, mean -0.5
    _felt(db, "fine", 0.1, 0.3)
    refresh_queues(db, settings, NY)

    reasons = {row.call_id: row.reason for row in queue_calls(db, Queue.SENTIMENT)}
    assert reasons == {
        "drop": "customer sentiment moved -1.00 start→end (at or under -0.50)",
        "sour": "customer sentiment averaged -0.50 (at or under -0.40)",
    }
    assert get_review(db, "drop") is not None  # a review waits, as for every queued call
    assert QUEUE_LABELS[Queue.SENTIMENT] == "Negative sentiment"

    # Unset, the queue stays empty, and untouched entries leave it.
    summary = refresh_queues(db, ReviewSettings(), NY)
    assert _ids(db, Queue.SENTIMENT) == set() and summary.withdrawn == {Queue.SENTIMENT: 2}


def test_sentiment_thresholds_are_checked_when_the_config_loads(tmp_path) -> None:
    config_file = tmp_path / "qa.toml"
    config_file.write_text("[review]\nnegative_mean = -3\n")
    with pytest.raises(Exception, match="negative_mean"):
        load_config(config_file)
