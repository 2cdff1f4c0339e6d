"""The default rubric on annotated example transcripts (with realistic ASR errors) and on the
sample calls: every item and flag must get the verdict written down for it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from calldata import (
    Call,
    Direction,
    HangupBy,
    Role,
    Scorecard,
    Transcript,
    Turn,
    Verdict,
)
from scoring import Rubric, load_case, load_rubrics, score_call, select_rubrics

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPTS = REPO / "tests" / "rubric_cases" / "transcripts"
FIXTURES = sorted(TRANSCRIPTS.glob("*.yaml"))


@pytest.fixture(scope="module")
def rubrics() -> dict[str, Rubric]:
    return {r.id: r for r in load_rubrics(REPO / "rubrics")}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _score(rubrics: dict[str, Rubric], path: Path) -> tuple[dict[str, Any], Scorecard]:
    case = load_case(path)
    rubric = rubrics[case.rubric]
    call, transcript = case.call, case.transcript
    assert select_rubrics([rubric], call, transcript.language) == [rubric]
    return case.data, score_call(rubric, transcript, call)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_annotated_transcript_verdicts(path: Path, rubrics: dict[str, Rubric]) -> None:
    case, card = _score(rubrics, path)
    expected = case["expected"]
    got = {item.id: item.result.value for item in card.items}
    reasons = {item.id: item.reason for item in card.items}
    assert got == expected["items"], f"{path.name}: {reasons}"
    flags = {flag.id: flag.severity for flag in card.flags}
    assert flags == expected["flags"], [f.evidence for f in card.flags]
    kinds = {flag.id: flag.kind for flag in card.flags if flag.id in expected.get("kinds", {})}
    assert kinds == expected.get("kinds", {})
    if "passed" in expected:
        assert card.passed is expected["passed"]
    if "score" in expected:
        assert card.score == pytest.approx(expected["score"])


# Items that pass on the absence of something, or on a fact from the PBX: nothing to quote.
_PASS_BY_ABSENCE = {
    "no_forbidden_phrases",
    "no_long_silence",
    "customer_understood",
    "customer_hangs_up_first",
}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_verdict_explains_itself(path: Path, rubrics: dict[str, Rubric]) -> None:
    _, card = _score(rubrics, path)
    for item in card.items:
        assert item.reason, f"{item.id} has no reason"
        if item.result is Verdict.NA:
            assert item.reason.startswith("not applicable")
        if item.result is Verdict.PASS and item.id not in _PASS_BY_ABSENCE:
            assert item.evidence, f"{item.id} passed without evidence"
        for evidence in item.evidence:
            turn = card_turn(path, evidence.turn_index)
            assert evidence.text == turn[3] and evidence.speaker.value == turn[0]
            assert evidence.start == turn[1] and evidence.end == turn[2]
            assert evidence.matched and 0 < (evidence.similarity or 0) <= 1
    for flag in card.flags:  # raised by what the customer said
        assert flag.evidence and any(e.speaker is Role.CUSTOMER for e in flag.evidence)


def card_turn(path: Path, index: int) -> list[Any]:
    return _load(path)["turns"][index]


def test_there_is_a_fixture_for_every_sample_call(samples_dir: Path) -> None:
    samples = yaml.safe_load((samples_dir / "calls.yaml").read_text(encoding="utf-8"))["calls"]
    fixtures = {_load(path).get("sample"): path for path in FIXTURES}
    for sample in samples:
        assert sample["key"] in fixtures, f"no annotated transcript for sample {sample['key']}"
        expected = _load(fixtures[sample["key"]])["expected"]
        for item, verdict in sample["expected"]["items"].items():
            assert expected["items"][item] == verdict
        assert sorted(expected["flags"]) == sorted(sample["expected"]["flags"])


def test_homophone_evidence_shows_what_asr_wrote(rubrics: dict[str, Rubric]) -> None:
    _, card = _score(rubrics, TRANSCRIPTS / "good-zh.yaml")
    verification = card.item("identity_verification")
    password = [e for e in verification.evidence if e.matched == "服务密码"]
    assert password and password[0].similarity == pytest.approx(0.95)
    assert "秘码" in password[0].text
    assert "heard '服务秘码'" in verification.reason
    assert any(e.matched and "开通" in e.matched for e in verification.evidence)


def test_failed_verification_says_what_was_missing(rubrics: dict[str, Rubric]) -> None:
    _, card = _score(rubrics, TRANSCRIPTS / "no-id-en.yaml")
    item = card.item("identity_verification")
    assert item.result is Verdict.FAIL and item.critical
    assert "service_password" in item.reason and "id_number" in item.reason
    assert "identity_check" in item.reason  # the intent looked for, too
    assert card.score == 0 and not card.passed
    _, late = _score(rubrics, TRANSCRIPTS / "late-verification-en.yaml")
    assert "too late" in late.item("identity_verification").reason


def _sample_transcript(sample: dict[str, Any]) -> Transcript:
    turns, clock = [], 0.0
    for index, (role, text) in enumerate(sample["lines"]):
        length = len(text) * (0.065 if sample["language"] == "en" else 0.22)
        turns.append(
            Turn(
                index=index,
                speaker=role,
                role=Role(role),
                start=clock,
                end=clock + length,
                text=text,
                confidence=0.9,
            )
        )
        clock += length + 0.6
    return Transcript(
        language=sample["language"], turns=tuple(turns), duration=clock, channel_mode="mono"
    )


def test_sample_calls_as_scripted_get_their_expected_verdicts(samples_dir: Path) -> None:
    """The sample store's scripts themselves (perfect ASR) must get the stated verdicts."""
    rubrics = load_rubrics(REPO / "rubrics")
    samples = yaml.safe_load((samples_dir / "calls.yaml").read_text(encoding="utf-8"))["calls"]
    for sample in samples:
        call = Call(
            call_id=sample["key"],
            recordings=("x.wav",),
            start=datetime(2026, 11, 20, tzinfo=UTC),
            direction=Direction.INBOUND,
            queue=sample["queue"],
            hangup_by=HangupBy(sample.get("hangup", "unknown")),
        )
        transcript = _sample_transcript(sample)
        chosen = select_rubrics(rubrics, call, transcript.language)
        assert [r.id for r in chosen] == ["inbound-service"]
        card = score_call(chosen[0], transcript, call)
        for item, verdict in sample["expected"]["items"].items():
            assert card.item(item).result.value == verdict, (sample["key"], card.item(item))
        assert sorted(f.id for f in card.flags) == sorted(sample["expected"]["flags"])
