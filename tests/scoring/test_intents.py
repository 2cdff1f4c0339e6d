"""Every shipped intent on utterances it must match and near-misses it must not, in English and
Mandarin (tests/rubric_cases/intent_cases/*.yaml), through the rubric engine: one utterance is one
turn of a call scored with a one-item rubric per intent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from calldata import Call, Role, Transcript, Turn, Verdict
from scoring import IntentLibrary, Rubric, load_intent_libraries, score_call

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "rubric_cases" / "intent_cases"
LANGUAGES = ("en", "zh")


def _cases() -> dict[str, dict[str, dict[str, list[str]]]]:
    found: dict[str, dict[str, dict[str, list[str]]]] = {}
    for path in sorted(CASES.glob("*.yaml")):
        found.update(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


CASES_BY_INTENT = _cases()


@pytest.fixture(scope="module")
def intents() -> dict[str, IntentLibrary]:
    return load_intent_libraries(sorted((REPO / "rubrics" / "intents").glob("*.yaml")))


@pytest.fixture(scope="module")
def probe(intents: dict[str, IntentLibrary]) -> Rubric:
    items = [
        {"id": name, "title": name, "weight": 1, "check": {"intent": {"library": name}}}
        for name in intents
    ]
    data = {"id": "intent-probe", "version": "1", "title": "One item per intent"}
    rubric = Rubric.model_validate({**data, "pass_mark": 0, "items": items})
    return rubric.with_libraries({}, intents=intents)


def _said(probe: Rubric, intent: str, language: str, text: str) -> tuple[bool, str]:
    turn = Turn(index=0, speaker="ch0", role=Role.AGENT, start=0, end=2, text=text, confidence=1)
    transcript = Transcript(language=language, turns=(turn,), channel_mode="stereo")
    call = Call(call_id="probe", recordings=("x.wav",), start=datetime(2026, 1, 1, tzinfo=UTC))
    result = score_call(probe, transcript, call).item(intent)
    return result.result is Verdict.PASS, result.reason


def test_every_intent_has_cases_in_both_languages(intents: dict[str, IntentLibrary]) -> None:
    assert set(CASES_BY_INTENT) == set(intents)
    for name, case in CASES_BY_INTENT.items():
        for kind in ("match", "no_match"):
            assert all(case[kind].get(language) for language in LANGUAGES), (name, kind)


@pytest.mark.parametrize("intent", sorted(CASES_BY_INTENT))
def test_intent_matches_what_it_means_and_not_its_near_misses(probe: Rubric, intent: str) -> None:
    wrong = []
    for language in LANGUAGES:
        for text in CASES_BY_INTENT[intent]["match"][language]:
            matched, reason = _said(probe, intent, language, text)
            if not matched:
                wrong.append(f"missed {text!r}: {reason}")
        for text in CASES_BY_INTENT[intent]["no_match"][language]:
            matched, reason = _said(probe, intent, language, text)
            if matched:
                wrong.append(f"matched near-miss {text!r}: {reason}")
    assert not wrong, "\n".join(wrong)


def test_evidence_quotes_the_sentence_the_example_and_the_similarity(probe: Rubric) -> None:
    text = "Okay. I've refunded the forty dollars to your card. Anything else?"
    matched, reason = _said(probe, "transaction_done", "en", text)
    assert matched
    assert "I've refunded the forty dollars to your card.\" ≈ " in reason  # the sentence only
    assert "(0." in reason and "turn 0" in reason


def test_intent_product_runs_on_one_blas_thread_and_leaves_the_setting_as_it_was() -> None:
    """The call's small similarity product runs on one BLAS thread (threads woken for it cost
    more CPU than the arithmetic), gives numpy's product, and the process keeps its own BLAS
    thread count for everything else (the sentence encoder, other numpy work)."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from scoring.meaning import product

    def blas_threads() -> list[int]:
        return [int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((7, 512)).astype(np.float32)
    columns = rng.standard_normal((3, 512)).astype(np.float32)
    assert np.allclose(product(rows, columns), rows @ columns.T, atol=1e-4)
    assert blas_threads() == before


@pytest.mark.parametrize(
    ("sentence", "asking"),
    [
        ("Can I have your PIN?", True),
        ('He said "is that done?" ', True),  # closing quotes after the question mark
        ("您的服务密码是多少？」", True),
        ("已经办好了吗。", True),  # 吗 then only punctuation
        ("是吗", True),
        ("Is it done? Yes, it is done.", False),  # asked, then answered: the sentence states
        ("我已经帮您办好了。", False),
        ("", False),
    ],
)
def test_a_sentence_asks_when_it_ends_with_a_question_mark_or_ma_ne(
    sentence: str, asking: bool
) -> None:
    """Intents with ``questions: false`` (identity verification: asking for the PIN is not
    checking it) skip the sentences this says ask."""
    from scoring.meaning import asks

    assert asks(sentence) is asking
