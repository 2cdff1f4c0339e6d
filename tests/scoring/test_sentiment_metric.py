"""Sentiment as a rubric `metric` condition: the customer's mean polarity and start→end shift,
read from the call's sentence vectors, in English and Mandarin."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from calldata import Call, Direction, Metrics, Role, Transcript, Turn
from scoring import Rubric, score_call

RUBRIC = """
id: mood
version: "1"
title: Mood
pass_mark: 50
items:
  - {id: calm, title: Customer not negative overall, weight: 1,
     check: {metric: {name: sentiment, role: customer, op: ">=", value: 0}}}
  - {id: not_worse, title: Customer not left worse, weight: 1,
     check: {metric: {name: sentiment_shift, role: customer, op: ">", value: -0.5}}}
"""


def _transcript(language: str, *lines: tuple[str, str]) -> Transcript:
    turns = tuple(
        Turn(index=i, speaker=role, role=Role(role), start=i * 10.0, end=i * 10.0 + 8.0,
             text=text, confidence=0.9)
        for i, (role, text) in enumerate(lines)
    )  # fmt: skip
    return Transcript(language=language, turns=turns, metrics=Metrics(), duration=60.0,
                      channel_mode="stereo")  # fmt: skip


def _card(transcript: Transcript):
    rubric = Rubric.model_validate(yaml.safe_load(RUBRIC))
    call = Call(call_id="c1", recordings=("c1.wav",), start=datetime(2026, 11, 20, tzinfo=UTC),
                direction=Direction.INBOUND)  # fmt: skip
    return score_call(rubric, transcript, call)


def test_a_pleased_customer_passes_and_one_who_turns_angry_fails():
    pleased = _card(_transcript(
        "en", ("agent", "Hello, how can I help?"),
        ("customer", "Hi, I'd like to check my balance please."),
        ("agent", "Of course, it is forty dollars."),
        ("customer", "Great, thank you so much, that was really helpful!"),
    ))  # fmt: skip
    assert {i.id: i.result.value for i in pleased.items} == {"calm": "pass", "not_worse": "pass"}
    soured = _card(_transcript(
        "zh", ("agent", "您好，请问有什么可以帮您？"),
        ("customer", "你好，我想问一下这个月的账单，谢谢。"),
        ("agent", "这个月的费用是一百二十元。"),
        ("customer", "太过分了！你们乱收费，我要投诉！"),
    ))  # fmt: skip
    verdicts = {i.id: i.result.value for i in soured.items}
    assert verdicts["not_worse"] == "fail"
    reason = soured.item("not_worse").reason
    assert reason.startswith("customer sentiment_shift -") and "is not > -0.5" in reason


def test_a_role_that_said_nothing_does_not_hold_and_says_why():
    card = _card(_transcript("en", ("agent", "Hello? Is anyone there?")))
    assert card.item("calm").result.value == "fail"
    assert "the customer said nothing to measure" in card.item("calm").reason
