"""How the call felt: each turn's polarity, the customer's and the agent's average, the customer's
start→end shift and the most negative customer moment, stored per call (``call_sentiment``).

Computed from the call's stored sentence vectors (``sentences.sentiment``: one dot product per
sentence piece), right after the call is saved by the nightly run, or for older calls when a run
finds them without one::

    found = update_sentiment(db, call_id)     # computes, stores, returns it
    found.customer_shift, found.most_negative
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from calldata import Role, Transcript
from qa.db import utcnow
from qa.results.store import load_transcript, stored_vectors
from sentences.sentiment import SentimentModel, load_sentiment_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnSentiment:
    index: int
    role: str
    start: float
    end: float
    polarity: float  # -1 (very negative) .. +1 (very positive)


@dataclass(frozen=True)
class Moment:
    """The most negative customer turn, with its words as evidence."""

    index: int
    start: float
    end: float
    polarity: float
    text: str


@dataclass(frozen=True)
class CallSentiment:
    model: str
    turns: tuple[TurnSentiment, ...]
    customer_mean: float | None
    agent_mean: float | None
    customer_start: float | None  # the mean of the customer's first third of turns
    customer_end: float | None  # ... and of the last third
    most_negative: Moment | None

    @property
    def customer_shift(self) -> float | None:
        """End minus start: below 0 the customer ended worse than they began."""
        if self.customer_start is None or self.customer_end is None:
            return None
        return self.customer_end - self.customer_start

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["customer_shift"] = self.customer_shift
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallSentiment:
        worst = data.get("most_negative")
        return cls(
            model=data["model"],
            turns=tuple(TurnSentiment(**turn) for turn in data["turns"]),
            customer_mean=data["customer_mean"],
            agent_mean=data["agent_mean"],
            customer_start=data["customer_start"],
            customer_end=data["customer_end"],
            most_negative=Moment(**worst) if worst else None,
        )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def call_sentiment(transcript: Transcript, polarity: dict[int, float], model: str) -> CallSentiment:
    """The call's sentiment from each turn's polarity (turns without any are left out)."""
    turns = tuple(
        TurnSentiment(t.index, t.role.value, t.start, t.end, round(polarity[t.index], 4))
        for t in sorted(transcript.turns, key=lambda t: t.start)
        if t.index in polarity
    )
    customer = [t for t in turns if t.role == Role.CUSTOMER.value]
    third = max(1, math.ceil(len(customer) / 3))
    worst = min(customer, key=lambda t: t.polarity, default=None)
    text = {t.index: t.text for t in transcript.turns}
    return CallSentiment(
        model=model,
        turns=turns,
        customer_mean=_mean([t.polarity for t in customer]),
        agent_mean=_mean([t.polarity for t in turns if t.role == Role.AGENT.value]),
        customer_start=_mean([t.polarity for t in customer[:third]]),
        customer_end=_mean([t.polarity for t in customer[-third:]]),
        most_negative=(
            Moment(worst.index, worst.start, worst.end, worst.polarity, text[worst.index].strip())
            if worst
            else None
        ),
    )


def save_sentiment(db: sqlite_utils.Database, call_id: str, found: CallSentiment) -> None:
    with db.conn:
        db.conn.execute(
            "insert or replace into call_sentiment (call_id, model, customer_mean, agent_mean, "
            "customer_shift, sentiment_json, created_at) values (?, ?, ?, ?, ?, ?, ?)",
            [call_id, found.model, found.customer_mean, found.agent_mean, found.customer_shift,
             json.dumps(found.to_json(), ensure_ascii=False), utcnow()],
        )  # fmt: skip


def load_sentiment(db: sqlite_utils.Database, call_id: str) -> CallSentiment | None:
    """The call's stored sentiment, or None."""
    row = db.execute(
        "select sentiment_json from call_sentiment where call_id = ?", [call_id]
    ).fetchone()
    return CallSentiment.from_json(json.loads(row[0])) if row else None


def update_sentiment(
    db: sqlite_utils.Database,
    call_id: str,
    *,
    model: SentimentModel | None = None,
    only_missing: bool = False,
) -> CallSentiment | None:
    """Compute and store the call's sentiment from its transcript and sentence vectors (encoded
    now when the store has none); None when the call has no transcript or no encoder is there."""
    if only_missing and load_sentiment(db, call_id) is not None:
        return None
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None:
        return None
    vectors = stored_vectors(db, call_id, transcript)
    if vectors is None:
        return None
    model = model or load_sentiment_model()
    found = call_sentiment(transcript, model.turn_polarity(vectors), model.encoder)
    save_sentiment(db, call_id, found)
    return found
