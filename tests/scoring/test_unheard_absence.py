"""A verdict resting on something not found shows the turns it looked at that were heard with low
confidence (the words may be there, misheard), and such a call goes to the low-confidence review
queue; the same verdict on clearly heard words stays confident (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calldata import Call, Direction, ItemResult, Role, Scorecard, Transcript, Turn, Verdict
from qa.config import ReviewSettings, default_rubrics_dir
from qa.db import memory_db
from qa.results.store import save_call, save_results
from qa.review.queues import Queue, queue_calls, refresh_queues
from scoring import load_rubrics, score_call

# Written for this test (no benchmark dialogue's words). Turn 4 is the agent's transaction.
DIALOGUES = {
    "en": [
        ("agent", "Thank you for calling, this is Dana, how can I help you today?"),
        ("customer", "I'd like to move my internet plan to the cheaper one."),
        ("agent", "Sure, can I have your account PIN please?"),
        ("customer", "It's four four two one."),
        ("agent", "All right, I have switched you to the basic plan from next month."),
        ("customer", "Great, thanks."),
        ("agent", "Is there anything else I can help you with? Goodbye."),
    ],
    "zh": [
        ("agent", "您好，很高兴为您服务，请问有什么可以帮您？"),
        ("customer", "我想把套餐改成便宜一点的。"),
        ("agent", "好的，请提供一下您的服务密码。"),
        ("customer", "一二三四五六。"),
        ("agent", "好的，已经为您变更成功了，下个月生效。"),
        ("customer", "好的，谢谢。"),
        ("agent", "还有其他问题吗？再见。"),
    ],
}
# What the recogniser might write for turn 4 when it mishears it.
MISHEARD = {
    "en": "Fall bright, eye of stitched ewe two the bay sick lawn from next month.",
    "zh": "好的，鞋底洗完了晒干，下个月生效。",
}
TRANSACTION = 4
DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def _transcript(language: str, text: str, confidence: float) -> Transcript:
    turns = [
        Turn(
            index=index,
            speaker="ch1" if role == "agent" else "ch0",
            role=Role(role),
            start=index * 6.0,
            end=index * 6.0 + 5.0,
            text=text if index == TRANSACTION else said,
            confidence=confidence if index == TRANSACTION else 0.95,
        )
        for index, (role, said) in enumerate(DIALOGUES[language])
    ]
    return Transcript(
        language=language,
        turns=tuple(turns),
        duration=len(turns) * 6.0,
        channel_mode="stereo",
        role_confidence=1.0,
    )


def _score(language: str, text: str, confidence: float) -> tuple[Scorecard, list[str]]:
    """The call scored with the shipped inbound rubric, and the low-confidence queue's reasons
    once it is stored and the queues are refreshed."""
    (rubric,) = [r for r in load_rubrics(default_rubrics_dir()) if r.id == "inbound-service"]
    call = Call(
        call_id=f"c-{language}",
        recordings=("c.wav",),
        start=DAY,
        agent="1001",
        direction=Direction.INBOUND,
        language=language,
    )
    transcript = _transcript(language, text, confidence)
    card = score_call(rubric, transcript, call)
    db = memory_db()
    save_call(db, call, Path("/nonexistent-store"), status="pending")
    save_results(db, call.call_id, transcript, [card])
    refresh_queues(db, ReviewSettings(), ZoneInfo("America/New_York"))
    return card, [row.reason for row in queue_calls(db, Queue.LOW_CONFIDENCE)]


def _identity(card: Scorecard) -> ItemResult:
    return card.item("identity_verification")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_transaction_heard_at_low_confidence_still_counts(language: str) -> None:
    card, _ = _score(language, DIALOGUES[language][TRANSACTION][1], 0.5)
    item = _identity(card)
    assert item.result is Verdict.PASS, item.reason
    assert TRANSACTION in {e.turn_index for e in item.evidence}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_misheard_transaction_shows_the_doubtful_words_and_is_queued(language: str) -> None:
    card, queued = _score(language, MISHEARD[language], 0.5)
    item = _identity(card)
    assert item.result is Verdict.NA
    # the turn it looked at in vain, with its time and confidence, so a reviewer can play it
    (shown,) = item.evidence
    assert (shown.turn_index, shown.start, shown.end) == (TRANSACTION, 24.0, 29.0)
    assert (shown.text, shown.confidence, shown.matched) == (MISHEARD[language], 0.5, None)
    assert "not found; these words were heard with low confidence" in item.reason
    assert "(turn 4, 24.0-29.0 s, 50%)" in item.reason
    (reason,) = queued
    assert "inbound-service/identity_verification rests on words heard at 50%" in reason


@pytest.mark.parametrize("language", ["en", "zh"])
def test_other_words_heard_clearly_give_a_confident_verdict_not_queued(language: str) -> None:
    card, queued = _score(language, MISHEARD[language], 0.95)
    item = _identity(card)
    assert item.result is Verdict.NA
    assert item.evidence == ()
    assert "heard with low confidence" not in item.reason
    # every verdict resting on absence here was heard clearly: none carries doubtful turns
    assert all(e.matched is not None for i in card.items for e in i.evidence)
    assert queued == []
