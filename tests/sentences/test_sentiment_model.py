"""The per-turn sentiment classifier: shipped weights that read, fit the encoder, and tell
plainly pleased from plainly displeased sentences in both languages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentences import encode_turns, load_encoder
from sentences.sentiment import (
    MODEL_FILE,
    SentimentModelError,
    load_sentiment_model,
    read_sentiment_model,
)


def test_the_shipped_model_fits_the_shipped_encoder_and_records_its_provenance():
    model = load_sentiment_model()
    assert model.encoder == load_encoder().id and model.weights.shape == (512,)
    record = json.loads(MODEL_FILE.read_text())
    assert set(record["trained_on"]) == {"en.dev.jsonl", "zh.dev.jsonl"}
    assert record["heldout_accuracy"]["en"] >= 0.8 and record["heldout_accuracy"]["zh"] >= 0.8


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("Thank you so much, that was really helpful and quick.", False),
        ("This is ridiculous, you charged me twice and nobody fixes it.", True),
        ("太好了，谢谢你，服务很周到。", False),
        ("你们太过分了，多收了我的钱还不解决！", True),
    ],
)
def test_turn_polarity_tells_pleased_from_displeased(text, negative):
    vectors = encode_turns(load_encoder(), [(3, text)])
    polarity = load_sentiment_model().turn_polarity(vectors)
    assert set(polarity) == {3} and -1 <= polarity[3] <= 1
    assert (polarity[3] < 0) is negative, f"{text}: {polarity[3]}"


def test_vectors_of_another_encoder_are_refused_with_the_fix():
    vectors = encode_turns(load_encoder(), [(0, "fine")])
    other = type(vectors)("another-encoder", vectors.turns, vectors.spans, vectors.vectors)
    with pytest.raises(SentimentModelError, match="retrain it"):
        load_sentiment_model().turn_polarity(other)


def test_a_damaged_model_file_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "sentiment_model.json"
    bad.write_text(json.dumps({"encoder": "x", "bias": 0, "weights": list(np.zeros(3))}))
    with pytest.raises(SentimentModelError, match="expected 512 weights"):
        read_sentiment_model(bad)
    bad.write_text("{")
    with pytest.raises(SentimentModelError, match=r"sentiment_model.json.*train.py"):
        read_sentiment_model(bad)
