"""How positive or negative each turn sounds, from the sentence vectors a call already has.

A logistic regression on the sentence encoder's vectors (one model for English and Mandarin),
trained by ``benchmarks/sentiment/train.py`` on public labelled sentences (see
``benchmarks/sentiment/README.md``); its weights and provenance are in ``sentiment_model.json``
beside this module. A piece's polarity is ``2 * P(positive) - 1`` (-1 very negative, +1 very
positive); a turn's is the mean of its pieces'. It costs one 512-d dot product per piece: the
vectors are the ones encoded for the rubric engine when the call was processed::

    model = load_sentiment_model()
    polarity = model.turn_polarity(vectors)      # {turn index: -1..1}
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentences.vectors import SentenceVectors

MODEL_FILE = Path(__file__).resolve().parent / "sentiment_model.json"


class SentimentModelError(Exception):
    """The sentiment weights are missing or do not fit the encoder; the message says what to do."""


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """The classifier: ``weights`` (512,) and ``bias`` for the encoder named ``encoder``."""

    encoder: str
    weights: np.ndarray
    bias: float

    def polarity(self, vectors: np.ndarray) -> np.ndarray:
        """Each row's polarity, -1..1."""
        if not len(vectors):
            return np.zeros(0, dtype=np.float32)
        logits = vectors.astype(np.float32) @ self.weights + np.float32(self.bias)
        result: np.ndarray = (2.0 / (1.0 + np.exp(-logits)) - 1.0).astype(np.float32)
        return result

    def turn_polarity(self, vectors: SentenceVectors) -> dict[int, float]:
        """Each turn's polarity (the mean of its pieces'); turns without pieces are absent."""
        if vectors.encoder != self.encoder:
            raise SentimentModelError(
                f"the sentiment model was trained on {self.encoder} vectors, these are "
                f"{vectors.encoder}: retrain it (benchmarks/sentiment/train.py)"
            )
        scores = self.polarity(vectors.vectors)
        found: dict[int, float] = {}
        for turn in dict.fromkeys(vectors.turns.tolist()):
            start, stop = vectors.rows(int(turn))
            found[int(turn)] = float(scores[start:stop].mean())
        return found


_loaded: SentimentModel | None = None
_loading = threading.Lock()


def read_sentiment_model(path: Path = MODEL_FILE) -> SentimentModel:
    """The model stored at ``path``; SentimentModelError when it is missing or malformed."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        weights = np.asarray(record["weights"], dtype=np.float32)
        model = SentimentModel(str(record["encoder"]), weights, float(record["bias"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SentimentModelError(
            f"{path}: cannot read the sentiment model ({error}); restore it from the "
            "repository or run benchmarks/sentiment/train.py"
        ) from None
    if weights.shape != (512,):
        raise SentimentModelError(f"{path}: expected 512 weights, found {weights.shape}")
    return model


def load_sentiment_model() -> SentimentModel:
    """The process's sentiment model, read once."""
    global _loaded
    with _loading:
        if _loaded is None:
            _loaded = read_sentiment_model()
        return _loaded
