"""How the evaluator decides: weights, critical items, N/A, ordering, counting, windows,
metrics, call facts, flags, and which rubrics apply to a call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from calldata import (
    Call,
    Direction,
    HangupBy,
    Metrics,
    Role,
    RoleMetrics,
    Scorecard,
    Transcript,
    Turn,
    Verdict,
)
from scoring import PhraseLibrary, Rubric, RubricError, rubric_applies, score_call, select_rubrics


def _rubric(text: str, libraries: dict[str, PhraseLibrary] | None = None) -> Rubric:
    data = yaml.safe_load(text)
    data.setdefault("id", "test")
    data.setdefault("version", "1")
    data.setdefault("title", "Test")
    data.setdefault("pass_mark", 80)
    return Rubric.model_validate(data).with_libraries(libraries or {})


def _transcript(*lines: tuple[str, str], language: str = "en", **metrics: Any) -> Transcript:
    turns = []
    for index, (role, text) in enumerate(lines):
        turns.append(
            Turn(
                index=index,
                speaker=role,
                role=Role(role),
                start=index * 10.0,
                end=index * 10.0 + 8.0,
                text=text,
                confidence=0.9,
            )
        )
    return Transcript(
        language=language,
        turns=tuple(turns),
        metrics=Metrics(**metrics),
        duration=len(turns) * 10.0,
        channel_mode="stereo",
    )


def _call(**fields: Any) -> Call:
    base: dict[str, Any] = {
        "call_id": "c1",
        "recordings": ("c1.wav",),
        "start": datetime(2026, 11, 20, tzinfo=UTC),
        "direction": Direction.INBOUND,
    }
    return Call(**(base | fields))


def _verdicts(card: Scorecard) -> dict[str, str]:
    return {item.id: item.result.value for item in card.items}


WEIGHTED = """
items:
  - {id: hello, title: H, weight: 3, check: {phrase: {role: agent, phrases: [hello]}}}
  - {id: bye, title: B, weight: 1, check: {phrase: {role: agent, phrases: [goodbye]}}}
  - id: refund
    title: R
    weight: 6
    applies_if: {phrase: {role: customer, phrases: [refund]}}
    check: {phrase: {role: agent, phrases: [refunded]}}
"""


def test_weights_are_normalised_over_applicable_items() -> None:
    card = score_call(_rubric(WEIGHTED), _transcript(("agent", "Hello there")), _call())
    assert _verdicts(card) == {"hello": "pass", "bye": "fail", "refund": "na"}
    assert card.score == 75.0 and card.max_score == 100.0
    assert not card.passed  # pass_mark 80
    refund = card.item("refund")
    assert refund.reason.startswith("not applicable: the customer did not say 'refund'")
    assert "did not say 'goodbye'" in card.item("bye").reason


def test_pass_mark_is_inclusive() -> None:
    rubric = _rubric("pass_mark: 75\n" + WEIGHTED)
    card = score_call(rubric, _transcript(("agent", "Hello there")), _call())
    assert card.score == 75.0 and card.passed


def test_no_applicable_item_gives_max_score_zero() -> None:
    rubric = _rubric(
        "items:\n  - id: a\n    title: A\n    weight: 1\n"
        "    applies_if: {meta: {direction: outbound}}\n    check: {phrase: {phrases: [x]}}\n"
    )
    card = score_call(rubric, _transcript(("agent", "hi")), _call())
    assert card.max_score == 0 and card.score == 0 and card.passed
    assert card.item("a").result is Verdict.NA


def test_failed_critical_item_zeroes_the_score_and_fails_the_call() -> None:
    rubric = _rubric(
        """
items:
  - {id: hello, title: H, weight: 9, check: {phrase: {role: agent, phrases: [hello]}}}
  - {id: verify, title: V, weight: 1, critical: true, check: {phrase: {phrases: [password]}}}
"""
    )
    card = score_call(rubric, _transcript(("agent", "hello")), _call())
    assert _verdicts(card) == {"hello": "pass", "verify": "fail"}
    assert card.score == 0.0 and not card.passed and card.max_score == 100.0
    assert card.item("verify").critical


BEFORE = """
items:
  - id: order
    title: Verified before the change
    weight: 1
    check:
      before:
        first: {phrase: {phrases: ["identity is verified"]}}
        then: {phrase: {role: agent, phrases: ["i have updated"]}}
"""


@pytest.mark.parametrize(
    ("lines", "verdict", "reason"),
    [
        (
            [("agent", "Your identity is verified."), ("agent", "I have updated your plan.")],
            "pass",
            "before",
        ),
        (
            [("agent", "I have updated your plan."), ("agent", "Your identity is verified.")],
            "fail",
            "too late",
        ),
        (
            [("agent", "Your identity is verified and I have updated your plan.")],
            "pass",
            "before",
        ),
        (
            [("agent", "I have updated your plan, and your identity is verified.")],
            "fail",
            "too late",
        ),
        ([("agent", "I have updated your plan.")], "fail", "never happened"),
        ([("agent", "Your identity is verified.")], "fail", "but not"),
    ],
)
def test_before_orders_first_matches(
    lines: list[tuple[str, str]], verdict: str, reason: str
) -> None:
    card = score_call(_rubric(BEFORE), _transcript(*lines), _call())
    item = card.item("order")
    assert item.result.value == verdict
    assert reason in item.reason


def test_min_count_counts_turns_and_all_of_needs_every_phrase() -> None:
    rubric = _rubric(
        """
items:
  - {id: twice, title: T, weight: 1,
     check: {phrase: {role: customer, phrases: [complaint], min_count: 2}}}
  - {id: both, title: B, weight: 1,
     check: {phrase: {role: agent, phrases: [name, "date of birth"], all_of: true}}}
"""
    )
    once = _transcript(
        ("customer", "A complaint, a formal complaint!"), ("agent", "Your name please?")
    )
    card = score_call(rubric, once, _call())
    assert _verdicts(card) == {"twice": "fail", "both": "fail"}
    assert "fewer than 2" in card.item("twice").reason
    assert "did not say 'date of birth'" in card.item("both").reason
    twice = _transcript(
        ("customer", "I have a complaint."),
        ("agent", "Your name please?"),
        ("customer", "This is my complaint."),
        ("agent", "And your date of birth?"),
    )
    card = score_call(rubric, twice, _call())
    assert _verdicts(card) == {"twice": "pass", "both": "pass"}
    assert [e.turn_index for e in card.item("both").evidence] == [1, 3]


WINDOWS = """
items:
  - {id: first2, title: F, weight: 1,
     check: {phrase: {role: agent, phrases: [hello], window: {first_turns: 2}}}}
  - {id: last1, title: L, weight: 1,
     check: {phrase: {role: agent, phrases: [goodbye], window: {last_turns: 1}}}}
  - {id: early, title: E, weight: 1,
     check: {phrase: {phrases: [hello], window: {first_seconds: 15}}}}
  - {id: late, title: La, weight: 1,
     check: {phrase: {phrases: [goodbye], window: {last_seconds: 15}}}}
"""


def test_windows_count_turns_of_the_role_and_seconds_of_the_call() -> None:
    # agent turns 0, 2, 4; hello and goodbye both in the second agent turn (20-28 s of 60 s)
    transcript = _transcript(
        ("agent", "Acme, good day."),
        ("customer", "Hi."),
        ("agent", "Hello, and goodbye."),
        ("customer", "Bye then."),
        ("agent", "One more thing."),
        ("customer", "okay"),
    )
    card = score_call(_rubric(WINDOWS), transcript, _call())
    assert _verdicts(card) == {"first2": "pass", "last1": "fail", "early": "fail", "late": "fail"}
    assert "in the last 1 agent turns" in card.item("last1").reason
    closer = _transcript(("customer", "Hi."), ("agent", "hello"), ("agent", "goodbye"))
    card = score_call(_rubric(WINDOWS), closer, _call())
    assert _verdicts(card) == {"first2": "pass", "last1": "pass", "early": "pass", "late": "pass"}


def test_metrics_compare_and_missing_role_metrics_do_not_hold() -> None:
    rubric = _rubric(
        """
items:
  - {id: silence, title: S, weight: 1,
     check: {metric: {name: longest_silence, op: "<=", value: 30}}}
  - {id: talk, title: T, weight: 1,
     check: {metric: {name: talk_ratio, role: agent, op: lt, value: 0.7}}}
  - {id: long, title: D, weight: 1, check: {metric: {name: duration, op: ge, value: 20}}}
"""
    )
    quiet = _transcript(("agent", "hi"), ("customer", "hi"), longest_silence=30.0)
    card = score_call(rubric, quiet, _call())
    assert _verdicts(card) == {"silence": "pass", "talk": "fail", "long": "pass"}
    assert "was not measured" in card.item("talk").reason
    measured = _transcript(
        ("agent", "hi"),
        longest_silence=31.5,
        by_role={Role.AGENT: RoleMetrics(talk_ratio=0.55)},
    )
    card = score_call(rubric, measured, _call())
    assert _verdicts(card) == {"silence": "fail", "talk": "pass", "long": "fail"}
    assert card.item("silence").reason == "longest_silence 31.5 is not <= 30"


def test_meta_matches_call_facts() -> None:
    rubric = _rubric(
        """
items:
  - {id: q, title: Q, weight: 1, check: {meta: {queue: [600, 601], direction: inbound}}}
  - {id: h, title: H, weight: 1, check: {meta: {hangup_by: customer}}}
  - {id: d, title: D, weight: 1, check: {meta: {disposition: answered, language: zh}}}
"""
    )
    call = _call(queue="601", hangup_by=HangupBy.AGENT, disposition="ANSWERED")
    card = score_call(rubric, _transcript(("agent", "您好"), language="zh-CN"), call)
    assert _verdicts(card) == {"q": "pass", "h": "fail", "d": "pass"}
    assert card.item("h").reason == "hangup_by is agent, not customer"


def test_not_keeps_the_evidence_of_what_was_found() -> None:
    rubric = _rubric(
        "items:\n  - {id: polite, title: P, weight: 1,\n"
        "     check: {not: {phrase: {role: agent, phrases: [shut up]}}}}\n"
    )
    card = score_call(
        rubric, _transcript(("customer", "hello"), ("agent", "Just shut up.")), _call()
    )
    item = card.item("polite")
    assert item.result is Verdict.FAIL
    assert [(e.turn_index, e.matched, e.text) for e in item.evidence] == [
        (1, "shut up", "Just shut up.")
    ]


def test_phrases_for_another_language_do_not_match() -> None:
    rubric = _rubric(
        "items:\n  - {id: g, title: G, weight: 1, check: {phrase: {phrases: {zh: [您好]}}}}\n"
    )
    card = score_call(rubric, _transcript(("agent", "您好")), _call())  # transcript says en
    assert card.item("g").result is Verdict.FAIL
    assert "no phrases for language 'en'" in card.item("g").reason


def test_flag_severity_is_the_first_rule_that_holds() -> None:
    rubric = _rubric(
        """
items:
  - {id: a, title: A, weight: 1, check: {phrase: {phrases: [x]}}}
flags:
  - id: complaint
    title: Complaint
    when: {phrase: {role: customer, phrases: [complaint, 投诉]}}
    severity:
      - {when: {phrase: {role: customer, phrases: [lawyer, 12315]}}, level: high}
      - {when: {phrase: {role: customer, phrases: [complaint], min_count: 2}}, level: high}
    default_level: low
"""
    )
    plain = score_call(rubric, _transcript(("customer", "I have a complaint")), _call())
    assert [(f.id, f.severity) for f in plain.flags] == [("complaint", "low")]
    threat = _transcript(("customer", "我要投訴，不然打一二三一五"), language="zh")
    card = score_call(rubric, threat, _call())
    assert [(f.id, f.severity) for f in card.flags] == [("complaint", "high")]
    assert card.flags[0].evidence[0].text == "我要投訴，不然打一二三一五"
    assert not score_call(rubric, _transcript(("agent", "complaint")), _call()).flags


def test_unattached_library_is_an_error_that_says_how_to_load() -> None:
    rubric = _rubric("items:\n  - {id: a, title: A, weight: 1, check: {phrase: {library: x}}}\n")
    with pytest.raises(RubricError, match="load_rubric"):
        score_call(rubric, _transcript(("agent", "hi")), _call())


def test_scorecard_round_trips_through_json() -> None:
    card = score_call(_rubric(WEIGHTED), _transcript(("agent", "Hello there")), _call())
    assert Scorecard.model_validate_json(card.model_dump_json()) == card


def test_rubric_applies_to_direction_queue_and_language() -> None:
    rubric = _rubric(
        "applies_to: {direction: inbound, queues: [600], languages: [zh]}\n"
        "items:\n  - {id: a, title: A, weight: 1, check: {phrase: {phrases: [x]}}}\n"
    )
    assert rubric_applies(rubric, _call(queue="600"), "zh")
    assert rubric_applies(rubric, _call(queue="600"), "zh-CN")
    assert not rubric_applies(rubric, _call(queue="600"), "en")
    assert not rubric_applies(rubric, _call(queue="601"), "zh")
    assert not rubric_applies(rubric, _call(queue=None), "zh")
    assert not rubric_applies(rubric, _call(queue="600", direction=Direction.OUTBOUND), "zh")
    # ingest could not tell the direction: the call is not silently dropped
    assert rubric_applies(rubric, _call(queue="600", direction=Direction.UNKNOWN), "zh")
    anything = _rubric("items:\n  - {id: a, title: A, weight: 1, check: {phrase: {phrases: [x]}}}")
    assert select_rubrics([rubric, anything], _call(queue="7"), "en") == [anything]
