"""Evaluating condition trees against one call: each node yields an :class:`Outcome` with the
evidence that decided it, the points in the call where it was met, and a readable reason.

Per call, every turn is normalised and tokenised once and matched once against the rubric's
compiled phrase index (:mod:`scoring.compiled`); conditions then only read those hits, and each
distinct condition is evaluated once (``CallContext.memo``). Intent conditions compare the
call's sentence vectors with their examples (:mod:`scoring.meaning`).

Approximate phrase hits (English fuzzy matches, pinyin with syllable edits) are guesses about
misheard words. They may support a verdict in the agent's favour, but never count against
anyone: ``not`` and flags look only at confident hits (:meth:`CallContext.confident`) — as
written, homophones of Chinese phrases, or meaning.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from calldata import Evidence, Metrics, Role, Transcript, Turn
from scoring.compiled import PhrasePlan, describe_window
from scoring.context import (
    MAX_EVIDENCE,
    CallContext,
    Outcome,
    Position,
    merge_evidence,
    role_window_positions,
)
from scoring.hits import rank
from scoring.matching import PhraseHit
from scoring.meaning import IntentHit
from scoring.phrases import primary_language
from scoring.schema import (
    ROLE_METRICS,
    SENTIMENT_METRICS,
    AfterSpec,
    BeforeSpec,
    Condition,
    CountSpec,
    IntentSpec,
    MetaSpec,
    MetricName,
    MetricSpec,
    PhraseSpec,
)

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def evaluate(condition: Condition, context: CallContext) -> Outcome:
    """Evaluate one condition node (recursively) for the call in ``context``, once per call."""
    key = context.compiled.key(condition)
    found = context.memo.get(key)
    if found is None:
        found = _evaluate(condition, context)
        context.memo[key] = found
    return found


def _evaluate(condition: Condition, context: CallContext) -> Outcome:
    if condition.all_ is not None:
        return _all([evaluate(child, context) for child in condition.all_])
    if condition.any_ is not None:
        return _any([evaluate(child, context) for child in condition.any_])
    if condition.not_ is not None:
        # a guess about misheard words never counts against anyone
        inner = evaluate(condition.not_, context.confident())
        return Outcome(not inner.matched, inner.reason, inner.evidence, unknown=inner.unknown)
    if condition.before is not None:
        return _before(condition.before, context)
    if condition.after is not None:
        return _after(condition.after, context)
    if condition.phrase is not None:
        return _phrase(condition.phrase, context)
    if condition.intent is not None:
        return _intent(condition.intent, context)
    if condition.count is not None:
        return _count(condition.count, context)
    if condition.metric is not None:
        return _metric(condition.metric, context)
    if condition.meta is not None:
        return _meta(condition.meta, context)
    raise AssertionError(f"condition with no operator: {condition!r}")  # schema forbids it


# ---- combinators and ordering ---------------------------------------------------------------


def _all(outcomes: list[Outcome]) -> Outcome:
    failed = [o for o in outcomes if not o.matched or o.unknown]
    evidence = merge_evidence(*(o.evidence for o in outcomes))
    if failed:
        # unknown unless some part surely failed
        unknown = all(o.unknown for o in failed)
        return Outcome(
            False,
            "; ".join(o.reason for o in failed),
            evidence,
            unknown=unknown,
            scope=tuple(failed),
        )
    timed = [o for o in outcomes if o.positions]
    positions: tuple[Position, ...] = ()
    if timed:
        # met once every timed part has happened; again at each later point of any part
        start = max(o.positions[0] for o in timed)
        positions = tuple(sorted({p for o in timed for p in o.positions if p >= start}))
    return Outcome(True, "; ".join(o.reason for o in outcomes), evidence, positions)


def _any(outcomes: list[Outcome]) -> Outcome:
    met = [o for o in outcomes if o.matched and not o.unknown]
    if not met:
        return Outcome(
            False,
            "none of: " + " | ".join(o.reason for o in outcomes),
            merge_evidence(*(o.evidence for o in outcomes)),
            unknown=any(o.unknown for o in outcomes),
            scope=tuple(outcomes),
        )
    positions = tuple(sorted({p for o in met for p in o.positions}))
    # the reason of the first listed part met in the earliest turn (phrases are usually listed
    # before intents: their reason quotes the words, and what ASR wrote when it misheard them)
    turn = positions[0][0] if positions else None
    first = next((o for o in met if o.positions and o.positions[0][0] == turn), met[0])
    return Outcome(True, first.reason, merge_evidence(*(o.evidence for o in met)), positions)


def _unordered(first: Outcome, then: Outcome, evidence: tuple[Evidence, ...]) -> Outcome | None:
    """The failed outcome of an ordering test when one side never happened or has no time."""
    if first.unknown or then.unknown:
        return Outcome(False, f"cannot tell: {first.reason}; {then.reason}", evidence, unknown=True)
    if not first.matched:
        return Outcome(False, f"never happened: {first.reason}", evidence, scope=first.scope)
    if not then.matched:
        return Outcome(False, f"{first.reason}; but not: {then.reason}", evidence, scope=then.scope)
    if not first.positions or not then.positions:
        return Outcome(False, "no point in the call to compare", evidence)
    return None


def _before(spec: BeforeSpec, context: CallContext) -> Outcome:
    first, then = evaluate(spec.first, context), evaluate(spec.then, context)
    evidence = merge_evidence(first.evidence, then.evidence)
    which = "" if spec.anchor == "first" else "the last of "
    unordered = _unordered(first, then, evidence)
    if unordered is not None:
        return unordered
    anchor = then.positions[0] if spec.anchor == "first" else then.positions[-1]
    if first.positions[0] < anchor:
        later = tuple(p for p in then.positions if p > first.positions[0])
        return Outcome(True, f"{first.reason}, before {which}{then.reason}", evidence, later)
    return Outcome(False, f"too late: {first.reason}, only after {which}{then.reason}", evidence)


def _after(spec: AfterSpec, context: CallContext) -> Outcome:
    first, then = evaluate(spec.first, context), evaluate(spec.then, context)
    evidence = merge_evidence(first.evidence, then.evidence)
    which = "" if spec.anchor == "first" else "the last of "
    unordered = _unordered(first, then, evidence)
    if unordered is not None:
        return unordered
    anchor = first.positions[0] if spec.anchor == "first" else first.positions[-1]
    later = tuple(p for p in then.positions if p > anchor)
    if later:
        # the evidence of `then` that counts: what came after the anchor
        since = [e for e in then.evidence if e.turn_index >= anchor[0]]
        evidence = merge_evidence(first.evidence, tuple(since))
        return Outcome(True, f"{then.reason}, after {which}{first.reason}", evidence, later)
    return Outcome(False, f"only before {which}{first.reason}: {then.reason}", evidence)


# ---- phrase and count -----------------------------------------------------------------------


def _best(hits: list[PhraseHit]) -> PhraseHit:
    """The first of the best hits (:func:`scoring.hits.rank`), as ``max`` would choose."""
    best = hits[0]
    top = rank(best)
    for hit in hits[1:]:
        better = rank(hit)
        if better > top:
            best, top = hit, better
    return best


def _turn_hits(plan: PhrasePlan, context: CallContext, position: int) -> dict[int, PhraseHit]:
    """The plan's hits in one turn (listed phrase → best hit), near-misses removed."""
    found = context.hits(position, plan.group) if plan.group is not None else None
    if found and context.confident_only:
        found = {
            listed: sure
            for listed, options in found.items()
            if (sure := [hit for hit in options if not hit.approximate])
        }
    if not found:
        return {}
    near = context.hits(position, plan.exclude) if plan.exclude is not None else None
    if not near:
        return {listed: _best(options) for listed, options in found.items()}
    misses = [miss for options in near.values() for miss in options]
    kept: dict[int, PhraseHit] = {}
    for listed, options in found.items():
        fine = [hit for hit in options if not any(hit.overlaps(miss) for miss in misses)]
        if fine:
            kept[listed] = _best(fine)
    return kept


@dataclass
class _Matches:
    """Where a phrase condition's phrases were said, in its role and window."""

    turns: list[tuple[Turn, PhraseHit]]  # each matching turn with its best hit
    first_said: dict[int, Position]  # listed phrase → where it was first said

    def evidence(self) -> tuple[Evidence, ...]:
        return tuple(_evidence(turn, hit) for turn, hit in self.turns[:MAX_EVIDENCE])


def _find(plan: PhrasePlan, context: CallContext) -> _Matches:
    spec = plan.spec
    matches = _Matches([], {})
    assert plan.group is not None
    candidates = context.group_positions(plan.group)
    if not candidates:
        return matches
    if spec.window is not None:
        allowed = set(role_window_positions(spec.role, spec.window, context))
        candidates = [p for p in candidates if p in allowed]
    elif spec.role != "any":
        role = Role(spec.role)
        candidates = [p for p in candidates if context.turns[p].role == role]
    for position in candidates:
        found = _turn_hits(plan, context, position)
        if not found:
            continue
        turn = context.turns[position]
        for listed, hit in found.items():
            matches.first_said.setdefault(listed, (turn.index, hit.offset))
        best = _best(list(found.values()))
        matches.turns.append((turn, best))
    return matches


def _evidence(turn: Turn, hit: PhraseHit | IntentHit) -> Evidence:
    """The turn that decided, with what matched there: the phrase, or the intent's example."""
    return Evidence(
        turn_index=turn.index,
        speaker=turn.role,
        start=turn.start,
        end=turn.end,
        text=turn.text,
        matched=hit.phrase if isinstance(hit, PhraseHit) else hit.example,
        similarity=hit.similarity,
        confidence=round(turn.confidence, 3),
    )


def _quote(turn: Turn, hit: PhraseHit) -> str:
    """ "'phrase' (turn 3)", with what ASR wrote when it differs: "(heard '安可电信', turn 0)"."""
    if hit.similarity < 1.0 and hit.heard.replace(" ", "") != hit.phrase.replace(" ", "").lower():
        return f"{hit.phrase!r} (heard {hit.heard!r}, turn {turn.index})"
    return f"{hit.phrase!r} (turn {turn.index})"


def _phrase(spec: PhraseSpec, context: CallContext) -> Outcome:
    plan = context.compiled.plan(spec)
    if plan.group is None:
        return Outcome(False, f"no phrases for language {context.language!r} in {plan.what}")
    matches = _find(plan, context)
    said = matches.turns
    evidence = matches.evidence()
    needed = len(plan.listed) if spec.all_of else (spec.min_phrases or 1)
    if len(matches.first_said) < needed:
        scope = ((spec.role, spec.window),)
        if not said:
            return Outcome(False, f"{plan.nobody} {plan.what}{plan.where}", scope=scope)
        if spec.all_of:
            missing = [p for i, p in enumerate(plan.listed) if i not in matches.first_said]
            shown = ", ".join(repr(p) for p in missing[:5])
            return Outcome(False, f"{plan.nobody} {shown}{plan.where}", evidence, scope=scope)
        return Outcome(
            False,
            f"{plan.who} said only {len(matches.first_said)} of the {needed} different phrases "
            f"needed from {plan.what}{plan.where}",
            evidence,
            scope=scope,
        )
    if len(said) < spec.min_count:
        return Outcome(
            False,
            f"{plan.who} said {plan.what} in {len(said)} turn(s){plan.where}, "
            f"fewer than {spec.min_count}",
            evidence,
            scope=((spec.role, spec.window),),
        )
    points = [(turn.index, hit.offset) for turn, hit in said[spec.min_count - 1 :]]
    if needed > 1:
        # met where the last phrase it needs is first said
        ready = sorted(matches.first_said.values())[needed - 1]
        points = [p for p in [(t.index, h.offset) for t, h in said] if p >= ready] or [ready]
    quoted = ", ".join(_quote(t, h) for t, h in said[: max(2, spec.min_count)])
    return Outcome(True, f"{plan.who} said {quoted}", evidence, tuple(points))


def _count(spec: CountSpec, context: CallContext) -> Outcome:
    plan = context.compiled.plan(spec.phrase)
    if plan.group is None:
        return Outcome(False, f"no phrases for language {context.language!r} in {plan.what}")
    matches = _find(plan, context)
    said, evidence = matches.turns, matches.evidence()
    count = len(said)
    bounds = []
    if spec.at_least is not None:
        bounds.append(f"at least {spec.at_least}")
    if spec.at_most is not None:
        bounds.append(f"at most {spec.at_most}")
    wanted = " and ".join(bounds)
    summary = f"{plan.who} said {plan.what} in {count} turn(s){plan.where}"
    if spec.at_least is not None and count < spec.at_least:
        scope = ((spec.phrase.role, spec.phrase.window),)
        return Outcome(False, f"{summary}, not {wanted}", evidence, scope=scope)
    if spec.at_most is not None and count > spec.at_most:
        return Outcome(False, f"{summary}, not {wanted}", evidence)
    skip = (spec.at_least or 1) - 1
    points = tuple((turn.index, hit.offset) for turn, hit in said[skip:])
    return Outcome(True, f"{summary} ({wanted})", evidence, points)


# ---- intent ----------------------------------------------------------------------------------


def _intent(spec: IntentSpec, context: CallContext) -> Outcome:
    plan = context.compiled.intent_plan(spec)
    who = "someone" if spec.role == "any" else f"the {spec.role}"
    where = describe_window(spec.window, spec.role)
    if not plan.examples:
        return Outcome(False, f"no examples for language {context.language!r} in {plan.what}")
    positions = role_window_positions(spec.role, spec.window, context)
    found = context.meaning.hits(plan, positions)
    said = [(context.turns[p], found[p]) for p in positions if p in found]
    evidence = tuple(_evidence(turn, hit) for turn, hit in said[:MAX_EVIDENCE])
    if not said:
        return Outcome(
            False, f"{who} said nothing {plan.what}{where}", scope=((spec.role, spec.window),)
        )
    if len(said) < spec.min_count:
        return Outcome(
            False,
            f"{who} said something {plan.what} in {len(said)} turn(s){where}, "
            f"fewer than {spec.min_count}",
            evidence,
            scope=((spec.role, spec.window),),
        )
    quoted = ", ".join(
        f"{turn.text[hit.start : hit.end]!r} ≈ {hit.example!r} ({hit.similarity:.2f}, "
        f"turn {turn.index})"
        for turn, hit in said[: max(2, spec.min_count)]
    )
    points = tuple((turn.index, hit.offset) for turn, hit in said[spec.min_count - 1 :])
    return Outcome(True, f"{who} said {quoted}", evidence, points)


# ---- metric and meta ------------------------------------------------------------------------


def metric_value(spec: MetricSpec, metrics: Metrics, transcript: Transcript) -> float | None:
    """The metric's value for this call, or None when the speech layer did not measure it."""
    if spec.name in ROLE_METRICS:
        role_metrics = metrics.by_role.get(Role(spec.role or "agent"))
        return None if role_metrics is None else float(getattr(role_metrics, spec.name.value))
    if spec.name is MetricName.DURATION:
        return metrics.duration or transcript.duration
    return float(getattr(metrics, spec.name.value))


def _sentiment_metric(spec: MetricSpec, context: CallContext, label: str) -> Outcome:
    found = context.sentiment()
    role = spec.role or Role.CUSTOMER.value
    value = found.mean(role) if spec.name is MetricName.SENTIMENT else found.shift(role)
    if value is None:
        return Outcome(False, f"{label}: the {role} said nothing to measure")
    if _COMPARE[spec.symbol](value, spec.value):
        return Outcome(True, f"{label} {value:+.2f} {spec.symbol} {spec.value:g}")
    return Outcome(False, f"{label} {value:+.2f} is not {spec.symbol} {spec.value:g}")


def _metric(spec: MetricSpec, context: CallContext) -> Outcome:
    label = spec.name.value if spec.role is None else f"{spec.role} {spec.name.value}"
    if spec.name in SENTIMENT_METRICS:
        return _sentiment_metric(spec, context, label)
    if not context.transcript.metrics.measured:
        return Outcome(
            False, f"{label} cannot be measured: the transcript has no timings", unknown=True
        )
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
