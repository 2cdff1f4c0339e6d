"""Train the per-turn sentiment classifier on the dev sets; report held-out accuracy.

A logistic regression on the sentence encoder's 512-d vectors (the same encoder, and the same
stored vectors, the rubric engine matches intents with), one model for English and Mandarin
(USE-multilingual puts both in one space). The L2 strength is chosen by 5-fold cross-validation
on dev; held-out is read once, at the end, and never tuned on. Held-out sentences are scored the
way a call's turns are: cut into pieces (``sentences.split_sentences``), each piece scored, the
mean taken. Writes ``sentences/sentiment_model.json``. Run from the repository root:

    PYTHONPATH=. python benchmarks/sentiment/train.py
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from sentences import ENCODER_ID, encode_turns, load_encoder
from sentences.sentiment import MODEL_FILE, SentimentModel

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "zh")
STRENGTHS = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)  # L2 penalty per sample


def _read(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (HERE / name).read_text().splitlines() if line]


def _sha(name: str) -> str:
    return hashlib.sha256((HERE / name).read_bytes()).hexdigest()


def fit(
    x: np.ndarray, y: np.ndarray, strength: float, steps: int = 400
) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (512 features: the Hessian is small)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))]).astype(np.float64)
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, strength * n)
    penalty[-1] = 0.0  # the bias is not penalised
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def _accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    return float(((x @ w + b > 0).astype(int) == y).mean())


def main() -> None:
    encoder = load_encoder()
    dev = {lang: _read(f"{lang}.dev.jsonl") for lang in LANGUAGES}
    started = time.perf_counter()
    xs, ys = [], []
    for lang in LANGUAGES:
        xs.append(encoder.encode([str(r["text"]) for r in dev[lang]]))
        ys.append(np.array([int(r["label"]) for r in dev[lang]]))
    x, y = np.vstack(xs).astype(np.float64), np.concatenate(ys)
    print(f"encoded {len(y)} dev sentences in {time.perf_counter() - started:.0f} s")
    folds = np.random.default_rng(19).permutation(len(y)) % 5
    scores = {}
    for strength in STRENGTHS:
        accs = []
        for k in range(5):
            w, b = fit(x[folds != k], y[folds != k], strength)
            accs.append(_accuracy(x[folds == k], y[folds == k], w, b))
        scores[strength] = float(np.mean(accs))
        print(f"L2 {strength}: dev 5-fold accuracy {scores[strength]:.3f}")
    best = max(scores, key=lambda s: scores[s])
    w, b = fit(x, y, best)
    model = SentimentModel(ENCODER_ID, w.astype(np.float32), b)
    heldout = {}
    for lang in LANGUAGES:
        rows = _read(f"{lang}.heldout.jsonl")
        right = 0
        for row in rows:
            vectors = encode_turns(encoder, [(0, str(row["text"]))])
            polarity = model.turn_polarity(vectors).get(0, 0.0)
            right += int((polarity > 0) == bool(row["label"]))
        heldout[lang] = round(right / len(rows), 4)
        print(f"{lang} held-out accuracy {heldout[lang]:.3f} ({right}/{len(rows)})")
    record = {
        "encoder": ENCODER_ID,
        "kind": "logistic regression on sentence vectors; polarity = 2 * P(positive) - 1",
        "l2": best,
        "dev_cv_accuracy": round(scores[best], 4),
        "heldout_accuracy": heldout,
        "trained_on": {f"{lang}.dev.jsonl": _sha(f"{lang}.dev.jsonl") for lang in LANGUAGES},
        "bias": b,
        "weights": [round(float(v), 6) for v in w],
    }
    MODEL_FILE.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
