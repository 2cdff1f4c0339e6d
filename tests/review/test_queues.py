"""Review queues (qa.review.queues): which calls each queue picks and why, and the daily sample."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from test_review_state import Item, store_call, user

from calldata import Flag, Verdict
from qa.access.roles import Role
from qa.config import ReviewSettings, load_config
from qa.db import memory_db
from qa.review.assignment import claim
from qa.review.queues import (
    Queue,
    latest_scorecard_id,
    queue_calls,
    queue_counts,
    refresh_queues,
    sample_rank,
)
from qa.review.state import ReviewStatus, get_review

NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 09:00 in New York


def _ids(db, queue) -> set[str]:
    return {row.call_id for row in queue_calls(db, queue)}


def test_condition_queues_pick_complaints_critical_low_scores_and_doubtful_transcripts() -> None:
    db = memory_db()
    store_call(db, "good", DAY, "1001", [Item("greeting", Verdict.PASS)])
    complaint = Flag(id="complaint", title="Customer complaint", severity="high")
    store_call(db, "complaint", DAY, "1001", [Item("greeting", Verdict.PASS)], flags=(complaint,))
    store_call(
        db, "critical", DAY, "1002",
        [Item("greeting", Verdict.PASS, weight=3), Item("identity", Verdict.FAIL, critical=True)],
    )  # fmt: skip
    store_call(
        db, "low", DAY, "1002",
        [Item("greeting", Verdict.PASS, weight=1), Item("closing", Verdict.FAIL, weight=1)],
    )  # fmt: skip
    store_call(db, "misheard", DAY, "1003", [Item("greeting", Verdict.PASS)], confidence=0.4)
    store_call(db, "who", DAY, "1003", [Item("greeting", Verdict.PASS)], role_confidence=0.3)
    refresh_queues(db, ReviewSettings(), NY)

    assert _ids(db, Queue.COMPLAINTS) == {"complaint"}
    assert _ids(db, Queue.CRITICAL) == {"critical"}
    assert _ids(db, Queue.LOW_SCORE) == {"critical", "low"}  # 0% and 50% < 70%
    assert _ids(db, Queue.LOW_CONFIDENCE) == {"misheard", "who"}
    reasons = {row.call_id: row.reason for row in queue_calls(db, Queue.LOW_CONFIDENCE)}
    assert reasons == {"misheard": "transcript confidence 40%", "who": "role confidence 30%"}
    (row,) = queue_calls(db, Queue.CRITICAL)
    assert row.reason == "critical item failed: inbound-service/identity"
    assert row.agent == "1002" and row.status is ReviewStatus.NEW and row.assignee is None
    (row,) = queue_calls(db, Queue.COMPLAINTS)
    assert row.reason == "Customer complaint (high)"
    # Every queued call has a review waiting, new and unassigned.
    assert get_review(db, "complaint").status is ReviewStatus.NEW
    assert get_review(db, "good") is None or "good" in _ids(db, Queue.SAMPLE)


def test_low_score_threshold_comes_from_the_config(tmp_path) -> None:
    config_file = tmp_path / "qa.toml"
    config_file.write_text("[review]\nlow_score = 0.5\nsample_rate = 0.2\n")
    settings = load_config(config_file).review
    assert (settings.low_score, settings.sample_rate) == (0.5, 0.2)
    db = memory_db()
    store_call(db, "half", DAY, "1001", [Item("a", Verdict.PASS), Item("b", Verdict.FAIL)])
    store_call(db, "third", DAY, "1001", [Item("a", Verdict.PASS), *[Item(x, Verdict.FAIL)
                                                                     for x in "bc"]])  # fmt: skip
    refresh_queues(db, settings, NY)
    assert _ids(db, Queue.LOW_SCORE) == {"third"}  # 50% is not under 50%


def _day_of_calls(db, agent: str, count: int, day: datetime, prefix: str) -> list[str]:
    ids = []
    for n in range(count):
        call_id = f"{prefix}{n:03d}"
        store_call(db, call_id, day + timedelta(minutes=n), agent, [Item("a", Verdict.PASS)])
        ids.append(call_id)
    return ids


def test_sample_takes_ten_percent_per_agent_day_and_at_least_one() -> None:
    db = memory_db()
    _day_of_calls(db, "1001", 25, DAY, "a")  # 10% of 25 -> 3 (rounded up)
    _day_of_calls(db, "1001", 4, DAY + timedelta(days=1), "n")  # the next day: 1
    _day_of_calls(db, "1002", 3, DAY, "b")  # 1
    _day_of_calls(db, "1003", 1, DAY, "c")  # 1
    refresh_queues(db, ReviewSettings(), NY)
    sampled = queue_calls(db, Queue.SAMPLE)
    per_agent_day = Counter((row.agent, row.day) for row in sampled)
    assert per_agent_day == {
        ("1001", "2026-11-20"): 3,
        ("1001", "2026-11-21"): 1,
        ("1002", "2026-11-20"): 1,
        ("1003", "2026-11-20"): 1,
    }
    # The lowest hash ranks of the agent-day are the ones drawn.
    drawn = {row.call_id for row in sampled if row.agent == "1001" and row.day == "2026-11-20"}
    ranked = sorted((f"a{n:03d}" for n in range(25)),
                    key=lambda c: sample_rank(0, "2026-11-20", "1001", c))  # fmt: skip
    assert drawn == set(ranked[:3])


def test_sample_is_reproducible_for_a_seed_and_day_and_differs_with_the_seed() -> None:
    def draw(seed: int) -> set[str]:
        db = memory_db()
        _day_of_calls(db, "1001", 40, DAY, "a")
        refresh_queues(db, ReviewSettings(sample_seed=seed), NY)
        return _ids(db, Queue.SAMPLE)

    first = draw(7)
    assert len(first) == 4
    assert draw(7) == first
    assert draw(8) != first


def test_sample_days_are_local_days() -> None:
    db = memory_db()
    # 03:00 UTC on the 21st is 22:00 on the 20th in New York: the same local day as 14:00 UTC.
    store_call(db, "evening", datetime(2026, 11, 21, 3, 0, tzinfo=UTC), "1001",
               [Item("a", Verdict.PASS)])  # fmt: skip
    store_call(db, "morning", DAY, "1001", [Item("a", Verdict.PASS)])
    refresh_queues(db, ReviewSettings(), NY)
    (row,) = queue_calls(db, Queue.SAMPLE)
    assert row.day == "2026-11-20"
    assert row.reason == "10% sample of Agent 1001's calls on 2026-11-20"


def test_the_sample_keeps_its_calls_as_the_day_grows() -> None:
    db = memory_db()
    _day_of_calls(db, "1001", 10, DAY, "a")
    first = refresh_queues(db, ReviewSettings(), NY)
    assert first.added[Queue.SAMPLE] == 1
    before, mark = _ids(db, Queue.SAMPLE), latest_scorecard_id(db)
    assert refresh_queues(db, ReviewSettings(), NY).total == 0
    _day_of_calls(db, "1001", 10, DAY + timedelta(hours=2), "b")  # 20 calls now: 2 in sample
    assert latest_scorecard_id(db) > mark  # what tells the app to refresh again
    assert refresh_queues(db, ReviewSettings(), NY).added[Queue.SAMPLE] == 1
    after = _ids(db, Queue.SAMPLE)
    assert before < after and len(after) == 2


def test_queue_counts_and_filters_follow_the_review_status() -> None:
    db = memory_db()
    complaint = Flag(id="complaint", title="Complaint", severity="medium")
    for n in range(3):
        store_call(db, f"c{n}", DAY + timedelta(minutes=n), "1001", [Item("a", Verdict.PASS)],
                   flags=(complaint,))  # fmt: skip
    refresh_queues(db, ReviewSettings(), NY)
    counts = {c.queue: (c.open, c.total) for c in queue_counts(db)}
    assert counts[Queue.COMPLAINTS] == (3, 3) and counts[Queue.CRITICAL] == (0, 0)
    assert [r.call_id for r in queue_calls(db, Queue.COMPLAINTS)] == ["c2", "c1", "c0"]
    db.execute("update reviews set status = 'done' where call_id = 'c1'")
    counts = {c.queue: (c.open, c.total) for c in queue_counts(db)}
    assert counts[Queue.COMPLAINTS] == (2, 3)
    open_ids = [
        r.call_id
        for r in queue_calls(db, Queue.COMPLAINTS, statuses=(ReviewStatus.NEW,), unassigned=True)
    ]
    assert open_ids == ["c2", "c0"]


def test_a_call_leaves_a_condition_queue_it_no_longer_meets_unless_a_reviewer_has_it() -> None:
    db = memory_db()
    half = [Item("greeting", Verdict.PASS, weight=1), Item("closing", Verdict.FAIL, weight=1)]
    store_call(db, "untouched", DAY, "1001", half)
    store_call(db, "claimed", DAY, "1002", half)
    refresh_queues(db, ReviewSettings(low_score=0.7), NY)
    assert _ids(db, Queue.LOW_SCORE) == {"untouched", "claimed"}  # 50% < 70%
    claim(db, "claimed", user(db, "rita", Role.REVIEWER))

    # The site lowers its threshold: 50% is no longer low.
    summary = refresh_queues(db, ReviewSettings(low_score=0.4), NY)
    assert summary.withdrawn == {Queue.LOW_SCORE: 1}
    assert _ids(db, Queue.LOW_SCORE) == {"claimed"}  # rita's work is not pulled from under her
    # Sample picks stay whatever happens to the conditions.
    assert _ids(db, Queue.SAMPLE) == {"untouched", "claimed"}
    # Back above the threshold: the call returns.
    assert refresh_queues(db, ReviewSettings(low_score=0.7), NY).added[Queue.LOW_SCORE] == 1
