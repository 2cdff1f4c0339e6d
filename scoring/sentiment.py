"""How a call felt, from each turn's polarity (``sentences.sentiment``): the customer's and the
agent's averages, each side's start→end shift, and the customer's most negative moment.

Pure: the polarity comes in, the figures go out. The nightly run stores them per call
(``qa.results.sentiment``); rubrics read them as ``metric`` conditions (``sentiment`` and
``sentiment_shift``, per role)::

    found = call_sentiment(transcript.turns, model.turn_polarity(vectors), model.encoder)
    found.customer_mean, found.customer_shift, found.most_negative
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from calldata import RaisedVoice, Role, Turn


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


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


@dataclass(frozen=True)
class CallSentiment:
    model: str
    turns: tuple[TurnSentiment, ...]
    customer_mean: float | None
    agent_mean: float | None
    customer_start: float | None  # the mean of the customer's first third of turns
    customer_end: float | None  # ... and of the last third
    most_negative: Moment | None
    raised_voice: tuple[RaisedVoice, ...] = ()  # from the audio (asr.arousal), when measured

    def raised(self, role: str) -> tuple[RaisedVoice, ...]:
        """The role's raised-voice moments."""
        return tuple(moment for moment in self.raised_voice if moment.role == role)

    @property
    def customer_shift(self) -> float | None:
        """End minus start: below 0 the customer ended worse than they began."""
        return self.shift(Role.CUSTOMER.value)

    def mean(self, role: str) -> float | None:
        """The role's mean turn polarity (None: the role has no turn)."""
        return _mean([t.polarity for t in self.turns if t.role == role])

    def shift(self, role: str) -> float | None:
        """The role's end minus start: the mean of its last third of turns against its first."""
        own = [t.polarity for t in self.turns if t.role == role]
        if not own:
            return None
        third = max(1, math.ceil(len(own) / 3))
        start, end = _mean(own[:third]), _mean(own[-third:])
        return None if start is None or end is None else round(end - start, 4)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["raised_voice"] = [moment.model_dump() for moment in self.raised_voice]
        data["customer_shift"] = self.customer_shift
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallSentiment:
        worst = data.get("most_negative")
        return cls(
            model=str(data["model"]),
            turns=tuple(TurnSentiment(**turn) for turn in data["turns"]),
            customer_mean=data["customer_mean"],
            agent_mean=data["agent_mean"],
            customer_start=data["customer_start"],
            customer_end=data["customer_end"],
            most_negative=Moment(**worst) if worst else None,
            raised_voice=tuple(RaisedVoice(**m) for m in data.get("raised_voice", ())),
        )


def call_sentiment(
    turns: Iterable[Turn], polarity: Mapping[int, float], model: str
) -> CallSentiment:
    """The call's sentiment from each turn's polarity (turns without any are left out)."""
    ordered = sorted(turns, key=lambda t: t.start)
    scored = tuple(
        TurnSentiment(t.index, t.role.value, t.start, t.end, round(polarity[t.index], 4))
        for t in ordered
        if t.index in polarity
    )
    customer = [t for t in scored if t.role == Role.CUSTOMER.value]
    third = max(1, math.ceil(len(customer) / 3))
    worst = min(customer, key=lambda t: t.polarity, default=None)
    text = {t.index: t.text for t in ordered}
    return CallSentiment(
        model=model,
        turns=scored,
        customer_mean=_mean([t.polarity for t in customer]),
        agent_mean=_mean([t.polarity for t in scored if t.role == Role.AGENT.value]),
        customer_start=_mean([t.polarity for t in customer[:third]]),
        customer_end=_mean([t.polarity for t in customer[-third:]]),
        most_negative=(
            Moment(worst.index, worst.start, worst.end, worst.polarity, text[worst.index].strip())
            if worst
            else None
        ),
    )
