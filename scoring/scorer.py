"""Scoring one call with one rubric, and choosing which rubrics apply to a call."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from calldata import (
    Call,
    Direction,
    Evidence,
    Flag,
    ItemResult,
    Scorecard,
    Transcript,
    Verdict,
)
from scoring.compiled import compiled_for
from scoring.context import (
    CallContext,
    Outcome,
    describe_unheard,
    merge_evidence,
    unheard_evidence,
)
from scoring.evaluate import evaluate
from scoring.normalize import NormalizedTexts
from scoring.phrases import primary_language
from scoring.schema import FlagSpec, Item, Rubric
from sentences import SentenceVectors

logger = logging.getLogger(__name__)


def rubric_applies(rubric: Rubric, call: Call, language: str | None) -> bool:
    """Whether the rubric's ``applies_to`` admits this call (empty lists admit anything).

    A call whose direction is unknown is not excluded by a direction list: ingest could not
    tell, and silently skipping the call would hide it from QA.
    """
    target = rubric.applies_to
    known = call.direction is not Direction.UNKNOWN
    if target.direction and known and call.direction not in target.direction:
        return False
    if target.queues and (call.queue or "") not in target.queues:
        return False
    if target.languages:
        spoken = primary_language(language or call.language)
        if spoken not in {primary_language(lang) for lang in target.languages}:
            return False
    return True


def select_rubrics(rubrics: Iterable[Rubric], call: Call, language: str | None) -> list[Rubric]:
    """The rubrics that apply to this call, in the order given."""
    return [rubric for rubric in rubrics if rubric_applies(rubric, call, language)]


def _absent(
    outcome: Outcome, context: CallContext, reason: str
) -> tuple[tuple[Evidence, ...], str]:
    """For a verdict resting on something not found: the turns it looked at that were heard
    with low confidence (the words may be there, misheard), and the reason saying so."""
    unheard = unheard_evidence(outcome, context)
    return unheard, f"{reason}; {describe_unheard(unheard)}" if unheard else reason


def _score_item(item: Item, context: CallContext) -> ItemResult:
    base = {"id": item.id, "title": item.title, "weight": item.weight, "critical": item.critical}
    gate_evidence: tuple[Evidence, ...] = ()
    if item.applies_if is not None:
        gate = evaluate(item.applies_if, context)
        if gate.unknown:
            return ItemResult(**base, result=Verdict.NA, reason=f"not applicable: {gate.reason}")
        if not gate.matched:
            unheard, reason = _absent(gate, context, f"not applicable: {gate.reason}")
            return ItemResult(**base, result=Verdict.NA, evidence=unheard, reason=reason)
        gate_evidence = gate.evidence
    outcome = evaluate(item.check, context)
    if outcome.unknown:
        return ItemResult(**base, result=Verdict.NA, reason=f"not applicable: {outcome.reason}")
    if outcome.matched:
        evidence = merge_evidence(gate_evidence, outcome.evidence)
        return ItemResult(**base, result=Verdict.PASS, evidence=evidence, reason=outcome.reason)
    unheard, reason = _absent(outcome, context, outcome.reason)
    evidence = merge_evidence(gate_evidence, outcome.evidence, unheard)
    return ItemResult(**base, result=Verdict.FAIL, evidence=evidence, reason=reason)


def _raise_flag(spec: FlagSpec, context: CallContext) -> Flag | None:
    """The flag, when its condition holds on confident hits; a low-severity hint when it holds
    only on approximate ones (a misheard word is no ground for a complaint or profanity)."""
    sure = context.confident()
    outcome = evaluate(spec.when, sure)
    if not outcome.matched or outcome.unknown:
        guess = evaluate(spec.when, context)
        if not guess.matched or guess.unknown:
            return None
        return Flag(
            id=spec.id,
            title=spec.title,
            severity="low",
            kind=spec.default_kind or "",
            evidence=guess.evidence,
            hint=True,
        )
    level, evidence = spec.default_level, outcome.evidence
    context = sure
    for rule in spec.severity:
        decided = evaluate(rule.when, context)
        if decided.matched:
            level, evidence = rule.level, merge_evidence(evidence, decided.evidence)
            break
    kind = spec.default_kind or ""
    for kind_rule in spec.kind:
        decided = evaluate(kind_rule.when, context)
        if decided.matched:
            kind, evidence = kind_rule.value, merge_evidence(evidence, decided.evidence)
            break
    return Flag(id=spec.id, title=spec.title, severity=level, kind=kind, evidence=evidence)


def score_call(
    rubric: Rubric,
    transcript: Transcript,
    call: Call,
    *,
    vectors: SentenceVectors | None = None,
    normalized: NormalizedTexts | None = None,
) -> Scorecard:
    """Score one call: every item pass/fail/N/A with evidence, the score, and the flags raised.

    The score is 0-100: the weights of passed items over the weights of applicable items
    (``max_score`` is 100, or 0 when no item applies). A failed critical item fails the call
    and zeroes its score, as commercial QA forms do; the item verdicts are kept as they are.
    ``passed`` needs no critical failure and a score at or above the rubric's ``pass_mark``.
    ``vectors``: the call's stored sentence vectors (:mod:`sentences`) for intent conditions;
    without them the turns are encoded when an intent condition is first evaluated.
    ``normalized``: its turn texts as normalised when it was processed (stored with the call);
    without them, or made by another normalisation, each turn is normalised here.

    Example: ``card = score_call(rubric, transcript, call); card.item("greeting").result``
    """
    language = primary_language(transcript.language or call.language)
    context = CallContext(
        transcript=transcript,
        call=call,
        compiled=compiled_for(rubric, language),
        vectors=vectors,
        normalized=normalized.usable() if normalized is not None else None,
    )
    items = tuple(_score_item(item, context) for item in rubric.items)
    applicable = [r for r in items if r.result is not Verdict.NA]
    total = sum(r.weight for r in applicable)
    earned = sum(r.weight for r in applicable if r.result is Verdict.PASS)
    critical_failed = any(r.critical and r.result is Verdict.FAIL for r in applicable)
    score = 0.0 if critical_failed or total <= 0 else round(100.0 * earned / total, 2)
    passed = not critical_failed and (total <= 0 or score >= rubric.pass_mark)
    flags = tuple(f for f in (_raise_flag(spec, context) for spec in rubric.flags) if f is not None)
    logger.debug(
        "call %s scored %.1f with %s (passed=%s, flags=%s)",
        call.call_id,
        score,
        rubric.id,
        passed,
        [f.id for f in flags],
    )
    return Scorecard(
        call_id=call.call_id,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        score=score,
        max_score=100.0 if total > 0 else 0.0,
        passed=passed,
        pass_mark=rubric.pass_mark,
        items=items,
        flags=flags,
    )
