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


COUNTS = """
items:
  - {id: twice, title: T, weight: 1,
     check: {count: {phrase: {role: customer, phrases: [complaint]}, at_least: 2}}}
  - {id: few_sorries, title: F, weight: 1,
     check: {count: {phrase: {role: agent, phrases: [sorry]}, at_most: 2}}}
  - {id: between, title: B, weight: 1,
     check: {count: {phrase: {phrases: [sorry, complaint]}, at_least: 2, at_most: 4}}}
"""


def test_count_bounds_matching_turns_at_least_and_at_most() -> None:
    rubric = _rubric(COUNTS)
    calm = _transcript(("customer", "I have a complaint."), ("agent", "Sorry about that."))
    card = score_call(rubric, calm, _call())
    assert _verdicts(card) == {"twice": "fail", "few_sorries": "pass", "between": "pass"}
    reason = card.item("twice").reason
    assert "in 1 turn(s)" in reason and "not at least 2" in reason
    sorry = _transcript(
        ("agent", "Sorry."), ("customer", "complaint"), ("agent", "So sorry."),
        ("customer", "A complaint!"), ("agent", "Sorry again."),
    )  # fmt: skip
    card = score_call(rubric, sorry, _call())
    assert _verdicts(card) == {"twice": "pass", "few_sorries": "fail", "between": "fail"}
    # a failed at-most shows every turn where it was said
    assert [e.turn_index for e in card.item("few_sorries").evidence] == [0, 2, 4]
    assert "not at most 2" in card.item("few_sorries").reason


ORDER = """
items:
  - id: apology_after_last_complaint
    title: A
    weight: 1
    check:
      after:
        first: {phrase: {role: customer, phrases: [complaint]}}
        then: {phrase: {role: agent, phrases: [sorry]}}
        anchor: last
  - id: apology_after_first_complaint
    title: F
    weight: 1
    check:
      after:
        first: {phrase: {role: customer, phrases: [complaint]}}
        then: {phrase: {role: agent, phrases: [sorry]}}
  - id: greeted_before_last_goodbye
    title: G
    weight: 1
    check:
      before:
        first: {phrase: {role: agent, phrases: [hello]}}
        then: {phrase: {phrases: [goodbye]}}
        anchor: last
"""


def test_after_and_anchors_order_on_first_or_last_match() -> None:
    rubric = _rubric(ORDER)
    lines = _transcript(
        ("customer", "goodbye? I have a complaint"),
        ("agent", "Sorry, hello"),
        ("customer", "Another complaint."),
        ("customer", "goodbye"),
    )
    card = score_call(rubric, lines, _call())
    assert _verdicts(card) == {
        "apology_after_last_complaint": "fail",
        "apology_after_first_complaint": "pass",
        "greeted_before_last_goodbye": "pass",
    }
    assert card.item("apology_after_last_complaint").reason.startswith(
        "only before the last of the customer said 'complaint'"
    )
    first = card.item("apology_after_first_complaint")
    assert "after the customer said 'complaint'" in first.reason
    late = _transcript(("customer", "complaint"), ("customer", "complaint"), ("agent", "sorry"))
    card = score_call(rubric, late, _call())
    assert card.item("apology_after_last_complaint").result is Verdict.PASS


def test_after_can_be_ordered_again_by_before() -> None:
    """Consent after the offer and before the activation: `after` nests inside `before`."""
    rubric = _rubric(
        """
items:
  - id: consent
    title: C
    weight: 1
    check:
      before:
        first:
          after:
            first: {phrase: {role: agent, phrases: [shall i activate it]}}
            then: {phrase: {role: customer, phrases: [yes please]}}
        then: {phrase: {role: agent, phrases: [it is activated]}}
"""
    )
    good = _transcript(
        ("customer", "yes please"),  # before the offer: does not count
        ("agent", "Shall I activate it?"),
        ("customer", "Yes please."),
        ("agent", "Done, it is activated."),
    )
    assert score_call(rubric, good, _call()).item("consent").result is Verdict.PASS
    pushed = _transcript(
        ("customer", "yes please"),
        ("agent", "Shall I activate it? It is activated."),
        ("customer", "Yes please."),
    )
    card = score_call(rubric, pushed, _call())
    assert card.item("consent").result is Verdict.FAIL and "too late" in card.item("consent").reason


def test_exclusions_cancel_overlapping_near_misses_only() -> None:
    libraries = {
        "complaint": PhraseLibrary(
            phrases={"en": ("complain",), "zh": ("投诉",)},
            exclude={"en": ("{do not|never} want to complain",), "zh": ("不{用|想}投诉",)},
        )
    }
    rubric = _rubric(
        "items:\n  - {id: c, title: C, weight: 1, check: {phrase: {role: customer, "
        "library: complaint, exclude: {en: [not complaining], zh: [没有投诉]}}}}\n",
        libraries,
    )
    for text, language, verdict in [
        ("I don't want to complain, just asking.", "en", "fail"),
        ("I'm not complaining about it.", "en", "fail"),
        ("I don't want to complain, but I will complain now.", "en", "pass"),
        ("I want to complain.", "en", "pass"),
        ("不用投诉，我就问问。", "zh", "fail"),
        ("不用頭訴，我就问问。", "zh", "fail"),  # homophone and Traditional: still a near-miss
        ("我没有投诉的意思", "zh", "fail"),
        ("我要投诉", "zh", "pass"),
    ]:
        card = score_call(rubric, _transcript(("customer", text), language=language), _call())
        assert card.item("c").result.value == verdict, text


def test_min_phrases_needs_that_many_different_phrases() -> None:
    rubric = _rubric(
        "items:\n  - {id: two, title: T, weight: 1, check: {phrase: {role: agent, "
        "phrases: [price, trial, cancel], min_phrases: 2}}}\n"
    )
    one = _transcript(("agent", "The price is low."), ("agent", "Good price!"))
    card = score_call(rubric, one, _call())
    assert card.item("two").result is Verdict.FAIL
    assert "only 1 of the 2 different phrases" in card.item("two").reason
    two = _transcript(("agent", "The price is low."), ("agent", "You can cancel anytime."))
    assert score_call(rubric, two, _call()).item("two").result is Verdict.PASS


def test_flag_kind_is_the_first_kind_rule_that_holds() -> None:
    rubric = _rubric(
        """
items:
  - {id: a, title: A, weight: 1, check: {phrase: {phrases: [x]}}}
flags:
  - id: do_not_disturb
    title: DND
    when: {phrase: {role: customer, phrases: [stop calling me, 别再打了]}}
    kind:
      - {when: {phrase: {role: customer, phrases: [survey, 调查]}}, value: survey}
    default_kind: marketing
"""
    )
    survey = _transcript(("customer", "No more surveys, stop calling me."))
    flag = score_call(rubric, survey, _call()).flags[0]
    assert (flag.id, flag.kind) == ("do_not_disturb", "survey")
    assert [e.matched for e in flag.evidence] == ["stop calling me", "survey"]
    sales = _transcript(("customer", "别再打了"), language="zh")
    assert score_call(rubric, sales, _call()).flags[0].kind == "marketing"


def test_agent_hanging_up_first_is_a_meta_fact() -> None:
    rubric = _rubric(
        "items:\n  - {id: polite_end, title: P, weight: 1,"
        " check: {not: {meta: {hangup_by: agent}}}}\n"
    )
    card = score_call(rubric, _transcript(("agent", "bye")), _call(hangup_by=HangupBy.AGENT))
    assert card.item("polite_end").result is Verdict.FAIL
    assert card.item("polite_end").reason == "hangup_by is agent"
    for side in (HangupBy.CUSTOMER, HangupBy.UNKNOWN):
        card = score_call(rubric, _transcript(("agent", "bye")), _call(hangup_by=side))
        assert card.item("polite_end").result is Verdict.PASS


def test_shared_conditions_are_evaluated_once_per_call() -> None:
    from scoring.compiled import compiled_for
    from scoring.context import CallContext
    from scoring.evaluate import evaluate

    rubric = _rubric(WEIGHTED)
    transcript = _transcript(("customer", "refund please"), ("agent", "refunded"))
    context = CallContext(transcript, _call(), compiled_for(rubric, "en"))
    first = evaluate(rubric.items[2].applies_if, context)  # type: ignore[arg-type]
    again = evaluate(rubric.items[2].applies_if, context)  # type: ignore[arg-type]
    assert first is again and first.matched


def test_a_scored_call_leaves_nothing_for_the_garbage_collector() -> None:
    """Everything made to score a call is freed as soon as its scorecard is returned (no
    reference cycles): re-scoring a store must not spend its time in the garbage collector."""
    import gc
    from pathlib import Path

    from scoring import load_case, load_rubrics
    from sentences import encode_turns, load_encoder

    repo = Path(__file__).resolve().parents[2]
    rubrics = {rubric.id: rubric for rubric in load_rubrics(repo / "rubrics")}
    for path in sorted((repo / "tests" / "rubric_cases" / "transcripts").glob("*.yaml"))[:4]:
        case = load_case(path)
        rubric = rubrics[case.rubric]
        turns = [(t.index, t.text) for t in case.transcript.turns]
        vectors = encode_turns(load_encoder(), turns)
        score_call(rubric, case.transcript, case.call, vectors=vectors)  # compiled, models loaded
        gc.collect()
        gc.disable()
        try:
            card = score_call(rubric, case.transcript, case.call, vectors=vectors)
            assert gc.collect() == 0, f"{path.name}: scoring left reference cycles behind"
        finally:
            gc.enable()
        assert card.items
