"""One call as the rubric engine sees it while scoring: its turns matched once against the
rubric's phrase index, its sentence vectors and sentiment (worked out once, when first asked),
and the :class:`Outcome` every condition yields — with, for a condition not met because nothing
was found, where it looked, so that a verdict resting on that absence can show the turns there
that were heard poorly (:func:`unheard_evidence`). :mod:`scoring.evaluate` evaluates conditions
against it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from calldata import Call, Evidence, Role, Transcript, Turn
from scoring.compiled import CompiledRubric
from scoring.index import TurnMatch
from scoring.matching import PhraseHit
from scoring.meaning import MeaningMatcher
from scoring.normalize import normalize_text
from scoring.phrases import primary_language
from scoring.schema import (
    Window,
)
from scoring.sentiment import CallSentiment, call_sentiment
from scoring.tokens import tokenize_turn
from sentences import SentenceEncoder, SentenceVectors, encode_turns, load_encoder
from sentences.sentiment import load_sentiment_model

logger = logging.getLogger(__name__)

MAX_EVIDENCE = 10
# A turn heard under this mean word probability may hold misheard words: a verdict resting on
# not finding something there is shown with those turns (the review queue's default
# ``review.low_confidence``, under which such a verdict is queued).
LOW_HEARD = 0.6
Position = tuple[int, float]  # (turn index, offset 0..1 inside the turn)
Scope = tuple[str, Window | None]  # the role ('any': everyone) and window a condition looked in


class Outcome:
    """What a condition decided: met or not, the evidence, where in the call it was met (every
    point, in order: a phrase condition's matches from its ``min_count``-th on), and why.

    Never changed once made (``Final``). A plain class with its own ``__init__``, not a frozen
    dataclass: a call makes dozens, and compiled, a dataclass's generated ``__init__`` (setting
    each field through ``object.__setattr__``) cost ten times as much.
    """

    __slots__ = ("evidence", "matched", "positions", "reason", "scope", "unknown")

    def __init__(
        self,
        matched: bool,
        reason: str,
        evidence: tuple[Evidence, ...] = (),
        positions: tuple[Position, ...] = (),
        unknown: bool = False,
        scope: tuple[Scope | Outcome, ...] = (),
    ) -> None:
        self.matched: Final = matched
        self.reason: Final = reason
        self.evidence: Final = evidence
        self.positions: Final = positions
        # The call cannot tell (a metric of a transcript without timings): the item is N/A and
        # the flag not raised, whatever ``matched`` says, never a pass.
        self.unknown: Final = unknown
        # Not met because something was not found: where each part that found nothing looked
        # (its role and window; or the unmet parts' outcomes, whose scopes count — resolved to
        # turns only when asked), so a verdict resting on that absence can show which of those
        # turns were heard poorly (:func:`unheard_evidence`). Empty when met, or not met
        # because of something that was found (a ``not``, an order).
        self.scope: Final = scope

    def __repr__(self) -> str:
        return (
            f"Outcome(matched={self.matched!r}, reason={self.reason!r}, "
            f"evidence={self.evidence!r}, positions={self.positions!r}, "
            f"unknown={self.unknown!r}, scope={self.scope!r})"
        )

    @property
    def at(self) -> Position | None:
        """The first point where the condition was met, if it is met at a point at all."""
        return self.positions[0] if self.positions else None


@dataclass
class CallFacts:
    """What scoring works out about a call once, when first asked, whatever view asks."""

    hits: list[TurnMatch] | None = None  # per turn position
    by_group: dict[int, list[int]] = field(default_factory=dict)  # phrase group → positions
    by_role: dict[str, tuple[int, ...]] = field(default_factory=dict)
    vectors: SentenceVectors | None = None  # the ones scoring reads (stored, or encoded here)
    meaning: MeaningMatcher | None = None
    sentiment: CallSentiment | None = None
    end: float | None = None
    doubtful: frozenset[int] | None = None


@dataclass
class CallContext:
    """One call being scored with one compiled rubric: per-turn phrase hits, computed once.

    ``vectors``: the call's stored sentence vectors; when None (or from another encoder) and an
    intent condition needs them, the turns are encoded here with ``encoder``. ``normalized``: its
    turn texts as normalised when it was processed (text → normalised); a turn not there is
    normalised here.
    """

    transcript: Transcript
    call: Call
    compiled: CompiledRubric
    vectors: SentenceVectors | None = None
    encoder: Callable[[], SentenceEncoder] = load_encoder
    normalized: dict[str, str] | None = None
    confident_only: bool = False  # approximate phrase hits do not count (see confident())
    language: str = ""
    turns: tuple[Turn, ...] = field(default=())
    memo: dict[str, Outcome] = field(default_factory=dict)
    # what the call's two views (this one and its confident view) work out once and share: the
    # views refer to it, never to each other, so a scored call is freed as soon as it is dropped
    # (a cycle would leave its hits and outcomes to the garbage collector: a third of the
    # scoring time on a busy heap)
    facts: CallFacts = field(default_factory=CallFacts)
    _confident: CallContext | None = None

    def __post_init__(self) -> None:
        self.language = primary_language(self.transcript.language or self.call.language)
        turns = self.transcript.turns
        if any(a.index > b.index for a, b in itertools.pairwise(turns)):
            turns = tuple(sorted(turns, key=lambda t: (t.index, t.start)))
        self.turns = turns

    def confident(self) -> CallContext:
        """The same call where only confident phrase hits count (its own memo, shared hits)."""
        if self.confident_only:
            return self
        if self._confident is None:
            self._confident = dataclasses.replace(
                self, confident_only=True, memo={}, _confident=None
            )
        return self._confident

    @property
    def meaning(self) -> MeaningMatcher:
        """The call's sentences for intent conditions (encoded now if none were stored); the
        confident view shares its call's, made only when an intent condition asks."""
        facts = self.facts
        if facts.meaning is None:
            encoder = self.encoder()
            facts.meaning = MeaningMatcher(
                self.sentence_vectors(),
                [t.index for t in self.turns],
                [t.text for t in self.turns],
                self.compiled.examples,
                encoder.encode,
            )
        return facts.meaning

    def sentence_vectors(self) -> SentenceVectors:
        """The call's sentence vectors: the stored ones, or encoded now (once) when none were
        stored or another encoder made them."""
        if self.facts.vectors is not None:
            return self.facts.vectors
        encoder = self.encoder()
        vectors = self.vectors
        if vectors is None or vectors.encoder != encoder.id:
            if vectors is not None:
                logger.warning(
                    "call %s: stored sentence vectors are from %s, not %s; encoding again",
                    self.call.call_id,
                    vectors.encoder,
                    encoder.id,
                )
            vectors = encode_turns(encoder, [(t.index, t.text) for t in self.turns])
        self.facts.vectors = vectors
        return vectors

    def sentiment(self) -> CallSentiment:
        """How the call felt (per-turn polarity from the sentence vectors), computed once."""
        facts = self.facts
        if facts.sentiment is None:
            model = load_sentiment_model()
            polarity = model.turn_polarity(self.sentence_vectors())
            facts.sentiment = call_sentiment(self.turns, polarity, model.encoder)
        return facts.sentiment

    @property
    def end_time(self) -> float:
        """When the call ended (worked out once: every windowed condition asks)."""
        facts = self.facts
        if facts.end is None:
            ends = [t.end for t in self.turns]
            facts.end = max(
                [self.transcript.duration, self.transcript.metrics.duration, *ends, 0.0]
            )
        return facts.end

    def doubtful_positions(self) -> frozenset[int]:
        """Positions of the turns heard under :data:`LOW_HEARD` (worked out once)."""
        facts = self.facts
        if facts.doubtful is None:
            facts.doubtful = frozenset(
                p for p, t in enumerate(self.turns) if t.confidence < LOW_HEARD and t.text.strip()
            )
        return facts.doubtful

    def _match_turns(self) -> list[TurnMatch]:
        facts = self.facts
        if facts.hits is None:
            index, known = self.compiled.index, self.normalized or {}
            facts.hits = [
                index.match(tokenize_turn(_normalized(t.text, known))) for t in self.turns
            ]
            for position, found in enumerate(facts.hits):
                for group in found.groups():
                    facts.by_group.setdefault(group, []).append(position)
        return facts.hits

    def hits(self, position: int, group: int) -> dict[int, list[PhraseHit]] | None:
        """The hits of one phrase group in the turn at ``position`` (listed phrase → hits)."""
        return self._match_turns()[position].group(group)

    def group_positions(self, group: int) -> list[int]:
        """Positions of the turns where a phrase of ``group`` was or may be found."""
        self._match_turns()
        return self.facts.by_group.get(group, [])

    def role_positions(self, role: str) -> tuple[int, ...]:
        """Positions (in ``turns``) of the turns spoken by ``role`` ('any': every turn)."""
        found = self.facts.by_role.get(role)
        if found is None:
            if role == "any":
                found = tuple(range(len(self.turns)))
            else:
                wanted = Role(role)
                found = tuple(i for i, t in enumerate(self.turns) if t.role == wanted)
            self.facts.by_role[role] = found
        return found


def _normalized(text: str, known: dict[str, str]) -> str:
    """The turn text normalised: as stored with the call, or now."""
    found = known.get(text)
    return normalize_text(text) if found is None else found


def unheard_evidence(outcome: Outcome, context: CallContext) -> tuple[Evidence, ...]:
    """The turns an unmet condition looked at in vain that were heard under
    :data:`LOW_HEARD`, lowest first (at most :data:`MAX_EVIDENCE`), as evidence in call order:
    the words it needed may be there, misheard. Each carries its turn's confidence, so a verdict
    resting on this absence goes to the low-confidence review queue as one resting on
    low-confidence words does; no ``matched`` phrase, since nothing matched."""
    doubtful = context.doubtful_positions()
    if outcome.matched or not outcome.scope or not doubtful:
        return ()
    places: dict[tuple[str, int], Scope] = {}
    parts = list(outcome.scope)
    while parts:
        part = parts.pop()
        if isinstance(part, Outcome):
            parts.extend(part.scope)
        else:
            places[part[0], id(part[1])] = part
    looked = {
        p for role, window in places.values() for p in role_window_positions(role, window, context)
    }
    turns = context.turns
    found = sorted((turns[p] for p in looked & doubtful), key=lambda t: (t.confidence, t.index))[
        :MAX_EVIDENCE
    ]
    return tuple(
        Evidence(
            turn_index=turn.index,
            speaker=turn.role,
            start=turn.start,
            end=turn.end,
            text=turn.text,
            confidence=round(turn.confidence, 3),
        )
        for turn in sorted(found, key=lambda t: t.index)
    )


def describe_unheard(evidence: tuple[Evidence, ...]) -> str:
    """The reason's note on :func:`unheard_evidence`: "not found; these words were heard with
    low confidence: 'information has not led you' (turn 7, 41.2-44.9 s, 59%), ..."."""
    shown = ", ".join(
        f"{e.text[:60]!r} (turn {e.turn_index}, {e.start:.1f}-{e.end:.1f} s, {e.confidence:.0%})"
        for e in evidence[:3]
    )
    more = f" and {len(evidence) - 3} more" if len(evidence) > 3 else ""
    return f"not found; these words were heard with low confidence: {shown}{more}"


def merge_evidence(*groups: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """Evidence from several outcomes, in call order (turn, then start), without repeats (the
    first of the same turn and matched phrase)."""
    given = [group for group in groups if group]
    if not given:
        return ()
    if len(given) == 1 and _one_per_turn_in_order(given[0]):
        return given[0]  # what merging would give: nothing repeats, already in order
    seen: dict[tuple[int, str | None], Evidence] = {}
    for group in given:
        for item in group:
            seen.setdefault((item.turn_index, item.matched), item)
    # sorted by (turn, start) and, for equal ones, as given (a stable sort)
    ordered = sorted([(e.turn_index, e.start, n, e) for n, e in enumerate(seen.values())])
    return tuple([entry[3] for entry in ordered])


def _one_per_turn_in_order(evidence: tuple[Evidence, ...]) -> bool:
    """Whether each item is of a later turn than the one before (as one outcome's usually are)."""
    last = -1
    for item in evidence:
        turn = item.turn_index
        if turn <= last:
            return False
        last = turn
    return True


def window_positions(
    positions: tuple[int, ...], turns: tuple[Turn, ...], window: Window | None, end: float
) -> tuple[int, ...]:
    """The turn positions inside the window (turn counts are over the given positions)."""
    if window is None:
        return positions
    if window.first_turns is not None:
        return positions[: window.first_turns]
    if window.last_turns is not None:
        return positions[-window.last_turns :]
    if window.first_seconds is not None:
        limit = window.first_seconds
        return tuple(p for p in positions if turns[p].start < limit)
    assert window.last_seconds is not None
    limit = end - window.last_seconds
    return tuple(p for p in positions if turns[p].end > limit)


def role_window_positions(
    role: str, window: Window | None, context: CallContext
) -> tuple[int, ...]:
    """Positions of the role's turns inside the window."""
    return window_positions(context.role_positions(role), context.turns, window, context.end_time)
