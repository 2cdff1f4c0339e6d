"""Evaluating condition trees against one call: each node yields an :class:`Outcome` with the
evidence that decided it, when in the call it became true, and a readable reason."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

from calldata import Call, Evidence, Metrics, Role, Transcript, Turn
from scoring.errors import RubricError
from scoring.matching import PhraseHit, match_phrase, prepare, resolve_mode
from scoring.phrases import ListedPhrase, phrases_for, primary_language
from scoring.schema import (
    ROLE_METRICS,
    Condition,
    MetaSpec,
    MetricName,
    MetricSpec,
    PhraseLibrary,
    PhraseSpec,
    Window,
)

logger = logging.getLogger(__name__)

MAX_EVIDENCE = 10
Position = tuple[int, float]  # (turn index, offset 0..1 inside the turn)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Outcome:
    """What a condition decided: met or not, the evidence, when it was met, and why."""

    matched: bool
    reason: str
    evidence: tuple[Evidence, ...] = ()
    at: Position | None = None


@dataclass
class CallContext:
    """One call being scored, with the per-call facts every condition reads."""

    transcript: Transcript
    call: Call
    libraries: dict[str, PhraseLibrary]
    language: str = ""
    turns: tuple[Turn, ...] = field(default=())
    # Items often test the same phrases twice (applies_if and check): match each once per call.
    hits: dict[tuple[str, int, str, float | None], PhraseHit | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.language = primary_language(self.transcript.language or self.call.language)
        self.turns = tuple(sorted(self.transcript.turns, key=lambda t: (t.index, t.start)))

    @property
    def end_time(self) -> float:
        ends = [t.end for t in self.turns]
        return max([self.transcript.duration, self.transcript.metrics.duration, *ends, 0.0])


def merge_evidence(*groups: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """Evidence from several outcomes, in call order, without repeats."""
    seen: dict[tuple[int, str | None], Evidence] = {}
    for group in groups:
        for item in group:
            seen.setdefault((item.turn_index, item.matched), item)
    return tuple(sorted(seen.values(), key=lambda e: (e.turn_index, e.start)))


def evaluate(condition: Condition, context: CallContext) -> Outcome:
    """Evaluate one condition node (recursively) for the call in ``context``."""
    kind = condition.kind
    if kind == "all":
        return _all([evaluate(child, context) for child in condition.all_ or ()])
    if kind == "any":
        return _any([evaluate(child, context) for child in condition.any_ or ()])
    if kind == "not" and condition.not_ is not None:
        inner = evaluate(condition.not_, context)
        return Outcome(not inner.matched, inner.reason, inner.evidence)
    if kind == "before" and condition.before is not None:
        return _before(
            evaluate(condition.before.first, context), evaluate(condition.before.then, context)
        )
    if kind == "phrase" and condition.phrase is not None:
        return _phrase(condition.phrase, context)
    if kind == "metric" and condition.metric is not None:
        return _metric(condition.metric, context)
    if kind == "meta" and condition.meta is not None:
        return _meta(condition.meta, context)
    raise RubricError(f"unknown condition kind {kind!r}")


def _all(outcomes: list[Outcome]) -> Outcome:
    failed = [o for o in outcomes if not o.matched]
    evidence = merge_evidence(*(o.evidence for o in outcomes))
    if failed:
        return Outcome(False, "; ".join(o.reason for o in failed), evidence)
    positions = [o.at for o in outcomes if o.at is not None]
    return Outcome(
        True, "; ".join(o.reason for o in outcomes), evidence, max(positions) if positions else None
    )


def _any(outcomes: list[Outcome]) -> Outcome:
    met = [o for o in outcomes if o.matched]
    if not met:
        return Outcome(
            False,
            "none of: " + " | ".join(o.reason for o in outcomes),
            merge_evidence(*(o.evidence for o in outcomes)),
        )
    positions = [o.at for o in met if o.at is not None]
    earliest = min(positions) if positions else None
    first = next((o for o in met if o.at == earliest), met[0])
    return Outcome(True, first.reason, merge_evidence(*(o.evidence for o in met)), earliest)


def _before(first: Outcome, then: Outcome) -> Outcome:
    evidence = merge_evidence(first.evidence, then.evidence)
    if not first.matched:
        return Outcome(False, f"never happened: {first.reason}", evidence)
    if not then.matched:
        return Outcome(False, f"{first.reason}; but not: {then.reason}", evidence)
    if first.at is not None and then.at is not None and first.at < then.at:
        return Outcome(True, f"{first.reason}, before {then.reason}", evidence, then.at)
    return Outcome(False, f"too late: {first.reason}, only after {then.reason}", evidence)


# ---- phrase ---------------------------------------------------------------------------------


def _role_turns(role: str, context: CallContext) -> tuple[Turn, ...]:
    if role == "any":
        return context.turns
    return tuple(t for t in context.turns if t.role == Role(role))


def _window_turns(turns: tuple[Turn, ...], window: Window | None, end: float) -> tuple[Turn, ...]:
    if window is None:
        return turns
    if window.first_turns is not None:
        return turns[: window.first_turns]
    if window.last_turns is not None:
        return turns[-window.last_turns :]
    if window.first_seconds is not None:
        return tuple(t for t in turns if t.start < window.first_seconds)
    assert window.last_seconds is not None
    return tuple(t for t in turns if t.end > end - window.last_seconds)


def describe_window(window: Window | None, role: str) -> str:
    """' in the first 2 agent turns', ' in the last 30 s', or ''."""
    if window is None:
        return ""
    who = "" if role == "any" else f"{role} "
    if window.first_turns is not None:
        return f" in the first {window.first_turns} {who}turns"
    if window.last_turns is not None:
        return f" in the last {window.last_turns} {who}turns"
    if window.first_seconds is not None:
        return f" in the first {window.first_seconds:g} s"
    return f" in the last {window.last_seconds:g} s"


def describe_source(spec: PhraseSpec) -> str:
    """'a phrase from greeting, company_name' or "'hello', 'hi', ..."."""
    names = spec.libraries
    inline: list[str] = []
    if isinstance(spec.phrases, tuple):
        inline = list(spec.phrases)
    elif isinstance(spec.phrases, dict):
        inline = [p for phrases in spec.phrases.values() for p in phrases]
    parts = [f"a phrase from {', '.join(names)}"] if names else []
    if inline:
        shown = ", ".join(repr(p) for p in inline[:3]) + (", ..." if len(inline) > 3 else "")
        parts.append(shown)
    return ("all of " if spec.all_of else "") + " or ".join(parts)


def _best_hit(
    listed: ListedPhrase, turn: Turn, spec: PhraseSpec, context: CallContext
) -> PhraseHit | None:
    key = (listed.listed, turn.index, spec.match.value, spec.threshold)
    if key in context.hits:
        return context.hits[key]
    best: PhraseHit | None = None
    for variant in listed.variants:
        mode = resolve_mode(spec.match, variant, context.language)
        hit = match_phrase(variant, turn.text, mode, spec.threshold)
        if hit is not None and (best is None or hit.similarity > best.similarity):
            best = hit
            if hit.similarity >= 1.0:
                break
    context.hits[key] = best
    return best


def _evidence(turn: Turn, hit: PhraseHit) -> Evidence:
    return Evidence(
        turn_index=turn.index,
        speaker=turn.role,
        start=turn.start,
        end=turn.end,
        text=turn.text,
        matched=hit.phrase,
        similarity=hit.similarity,
    )


def _quote(turn: Turn, hit: PhraseHit) -> str:
    """ "'phrase' (turn 3)", with what ASR wrote when it differs: "(heard '安可电信', turn 0)"."""
    if prepare(hit.heard).compact != prepare(hit.phrase).compact:
        return f"{hit.phrase!r} (heard {hit.heard!r}, turn {turn.index})"
    return f"{hit.phrase!r} (turn {turn.index})"


def _phrase(spec: PhraseSpec, context: CallContext) -> Outcome:
    who = "someone" if spec.role == "any" else f"the {spec.role}"
    nobody = "no one said" if spec.role == "any" else f"the {spec.role} did not say"
    where = describe_window(spec.window, spec.role)
    what = describe_source(spec)
    try:
        listed = phrases_for(spec, context.language, context.libraries)
    except KeyError as error:
        raise RubricError(
            f"phrase library {error} is not loaded; load rubrics with "
            "load_rubric/load_rubrics so their phrase libraries are attached"
        ) from error
    if not listed:
        return Outcome(False, f"no phrases for language {context.language!r} in {what}")
    turns = _window_turns(_role_turns(spec.role, context), spec.window, context.end_time)
    matching: list[tuple[Turn, PhraseHit]] = []
    first_turn: dict[str, Position] = {}
    for turn in turns:
        hits = []
        for phrase in listed:
            hit = _best_hit(phrase, turn, spec, context)
            if hit is not None:
                hits.append(hit)
                first_turn.setdefault(phrase.listed, (turn.index, hit.offset))
        if hits:
            matching.append((turn, max(hits, key=lambda h: (h.similarity, -h.offset))))
    evidence = tuple(_evidence(turn, hit) for turn, hit in matching[:MAX_EVIDENCE])
    missing = [p.listed for p in listed if p.listed not in first_turn] if spec.all_of else []
    if len(matching) < spec.min_count or missing:
        if not matching:
            return Outcome(False, f"{nobody} {what}{where}")
        if missing:
            shown = ", ".join(repr(p) for p in missing[:5])
            return Outcome(False, f"{nobody} {shown}{where}", evidence)
        return Outcome(
            False,
            f"{who} said {what} in {len(matching)} turn(s){where}, fewer than {spec.min_count}",
            evidence,
        )
    turn, hit = matching[spec.min_count - 1]
    at: Position = (turn.index, hit.offset)
    if spec.all_of:
        at = max([at, *first_turn.values()])
    said = ", ".join(_quote(t, h) for t, h in matching[: max(2, spec.min_count)])
    return Outcome(True, f"{who} said {said}", evidence, at)


# ---- metric and meta ------------------------------------------------------------------------


def metric_value(spec: MetricSpec, metrics: Metrics, transcript: Transcript) -> float | None:
    """The metric's value for this call, or None when the speech layer did not measure it."""
    if spec.name in ROLE_METRICS:
        role_metrics = metrics.by_role.get(Role(spec.role or "agent"))
        return None if role_metrics is None else float(getattr(role_metrics, spec.name.value))
    if spec.name is MetricName.DURATION:
        return metrics.duration or transcript.duration
    return float(getattr(metrics, spec.name.value))


def _metric(spec: MetricSpec, context: CallContext) -> Outcome:
    label = spec.name.value if spec.role is None else f"{spec.role} {spec.name.value}"
    value = metric_value(spec, context.transcript.metrics, context.transcript)
    if value is None:
        return Outcome(False, f"{label} was not measured for this call")
    if _COMPARE[spec.symbol](value, spec.value):
        return Outcome(True, f"{label} {value:g} {spec.symbol} {spec.value:g}")
    return Outcome(False, f"{label} {value:g} is not {spec.symbol} {spec.value:g}")


def _meta(spec: MetaSpec, context: CallContext) -> Outcome:
    call = context.call
    actual: dict[str, str] = {
        "direction": call.direction.value,
        "queue": call.queue or "",
        "language": context.language,
        "hangup_by": call.hangup_by.value,
        "disposition": (call.disposition or "").lower(),
    }
    facts: list[str] = []
    for key, wanted in spec.model_dump(exclude_none=True, mode="json").items():
        allowed = [primary_language(w) if key == "language" else str(w) for w in wanted]
        if key == "disposition":
            allowed = [w.lower() for w in allowed]
        shown = actual[key] or "unknown"
        if actual[key] not in allowed:
            return Outcome(False, f"{key} is {shown}, not {' or '.join(allowed)}")
        facts.append(f"{key} is {shown}")
    return Outcome(True, ", ".join(facts))
