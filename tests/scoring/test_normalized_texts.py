"""A call's turn texts normalised when it is processed and stored with it (NormalizedTexts):
re-scoring reads them and gives the verdicts normalising again gives; texts made by another
normalisation, or for turns whose text changed since, are normalised again, never trusted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from calldata import Verdict
from scoring import (
    NormalizedTexts,
    Rubric,
    RubricCase,
    load_case,
    load_rubrics,
    normalize_texts,
    score_call,
)
from scoring.normalize import NORMALIZATION, normalizer_id

REPO = Path(__file__).resolve().parents[2]
CASES = sorted((REPO / "tests" / "rubric_cases" / "transcripts").glob("*.yaml"))
RUBRICS = {rubric.id: rubric for rubric in load_rubrics(REPO / "rubrics")}

# The normalisation this file's hash was last reviewed for. Changed normalize.py? If the change
# can normalise any text differently, bump NORMALIZATION (texts stored by the old version are
# then normalised again); either way, put the new hash here.
REVIEWED = (1, "8c21adf490060a951513072091ca67c9357522e6842cd93c0b2c289ed6293bd1")


def test_a_change_to_the_normalisation_is_reviewed_for_a_version_bump() -> None:
    source = (REPO / "scoring" / "normalize.py").read_bytes()
    assert (NORMALIZATION, hashlib.sha256(source).hexdigest()) == REVIEWED, (
        "scoring/normalize.py changed: if it can normalise some text differently, bump "
        "NORMALIZATION; then put its version and the file's sha256 in REVIEWED"
    )


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_stored_texts_give_the_scorecard_normalising_again_gives(path: Path) -> None:
    case = load_case(path)
    rubric = RUBRICS[case.rubric]
    made = normalize_texts(turn.text for turn in case.transcript.turns)
    stored = NormalizedTexts.from_json(made.to_json())
    with_stored = score_call(rubric, case.transcript, case.call, normalized=stored)
    assert with_stored == score_call(rubric, case.transcript, case.call)


def _good_call() -> tuple[Rubric, RubricCase]:
    case = load_case(REPO / "tests" / "rubric_cases" / "transcripts" / "good-en.yaml")
    rubric = RUBRICS[case.rubric]
    assert score_call(rubric, case.transcript, case.call).item("greeting").result is Verdict.PASS
    return rubric, case


def test_scoring_reads_the_stored_texts_of_its_own_normalisation_only() -> None:
    rubric, case = _good_call()
    normal = score_call(rubric, case.transcript, case.call)
    blank = {turn.text: "" for turn in case.transcript.turns}
    # the stored texts are what phrases are matched in: every turn stored as nothing, what the
    # phrases found is gone (what meaning finds from the sentence vectors stays)
    read = score_call(
        rubric, case.transcript, case.call, normalized=NormalizedTexts(normalizer_id(), blank)
    )
    assert read != normal
    # the same made by another normalisation are not trusted: normalised again
    other = score_call(
        rubric, case.transcript, case.call, normalized=NormalizedTexts("0/opencc-0", blank)
    )
    assert other == normal


def test_a_turn_whose_text_is_not_stored_is_normalised_when_scored() -> None:
    rubric, case = _good_call()
    first = case.transcript.turns[0]
    # stored for another wording of the first turn (the transcript was corrected since)
    stale = NormalizedTexts(normalizer_id(), {first.text + " (before)": ""})
    card = score_call(rubric, case.transcript, case.call, normalized=stale)
    assert card.item("greeting").result is Verdict.PASS


@pytest.mark.parametrize("data", ["", "[]", '{"normalizer": "1"}', '{"texts": {"a": 1}}'])
def test_something_else_stored_is_refused(data: str) -> None:
    with pytest.raises(ValueError):
        NormalizedTexts.from_json(data)
