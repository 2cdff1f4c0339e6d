"""A rubric made ready for calls in one language: phrase lists compiled, wording precomputed.

Compiling happens once per rubric and call language (on first use, then kept with the rubric):
every phrase condition's lists are resolved for the language and added to one
:class:`~scoring.index.PhraseIndex`, and every condition gets a structural key so that the same
condition written twice (an item's ``applies_if`` and its ``check``) is evaluated once per call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scoring.errors import RubricError
from scoring.index import PhraseIndex
from scoring.loader import walk_conditions
from scoring.meaning import ExampleTable, IntentPlan, plan_intent
from scoring.phrases import exclusions_for, phrases_for, primary_language
from scoring.schema import Condition, IntentSpec, PhraseSpec, Rubric, Window

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhrasePlan:
    """One phrase condition, compiled: its group in the index and the words for its reasons."""

    spec: PhraseSpec
    group: int | None  # None: no phrases for this language
    exclude: int | None  # the group of its near-misses, if any
    listed: tuple[str, ...]  # the listed phrases, in order (all_of / min_phrases count these)
    what: str  # "a phrase from greeting" / "'hello', 'hi'"
    where: str  # " in the first 2 agent turns" or ""
    who: str  # "the agent" / "someone"
    nobody: str  # "the agent did not say" / "no one said"


@dataclass(frozen=True)
class CompiledRubric:
    """A rubric's phrase index for one language, its phrase and intent plans and condition
    keys."""

    language: str
    index: PhraseIndex
    plans: dict[int, PhrasePlan]  # id(PhraseSpec) → plan
    intents: dict[int, IntentPlan]  # id(IntentSpec) → plan
    examples: ExampleTable  # every intent plan's examples, encoded together
    keys: dict[int, str]  # id(Condition) → structural key

    def plan(self, spec: PhraseSpec) -> PhrasePlan:
        return self.plans[id(spec)]

    def intent_plan(self, spec: IntentSpec) -> IntentPlan:
        return self.intents[id(spec)]

    def key(self, condition: Condition) -> str:
        return self.keys[id(condition)]


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
    text = " or ".join(parts)
    if spec.all_of:
        return "all of " + text
    if spec.min_phrases is not None and spec.min_phrases > 1:
        return f"at least {spec.min_phrases} of " + text
    return text


def _plan(spec: PhraseSpec, rubric: Rubric, index: PhraseIndex, language: str) -> PhrasePlan:
    libraries = rubric.libraries
    try:
        listed = phrases_for(spec, language, libraries)
        near = exclusions_for(spec, language, libraries)
    except KeyError as error:
        raise RubricError(
            f"phrase library {error} is not loaded; load rubrics with "
            "load_rubric/load_rubrics so their phrase libraries are attached"
        ) from error
    group = index.add_group(listed, spec.match, spec.threshold) if listed else None
    exclude = (
        index.add_group(near, spec.match, spec.threshold, strict=True) if listed and near else None
    )
    return PhrasePlan(
        spec=spec,
        group=group,
        exclude=exclude,
        listed=tuple(p.listed for p in listed),
        what=describe_source(spec),
        where=describe_window(spec.window, spec.role),
        who="someone" if spec.role == "any" else f"the {spec.role}",
        nobody="no one said" if spec.role == "any" else f"the {spec.role} did not say",
    )


def compile_rubric(rubric: Rubric, language: str) -> CompiledRubric:
    """Compile the rubric's phrase conditions for calls in ``language`` (no caching here)."""
    language = primary_language(language)
    index = PhraseIndex(language)
    plans: dict[int, PhrasePlan] = {}
    intents: dict[int, IntentPlan] = {}
    examples = ExampleTable()
    keys: dict[int, str] = {}
    for _, condition in walk_conditions(rubric):
        keys[id(condition)] = condition.model_dump_json(by_alias=True, exclude_none=True)
        spec = condition.phrase or (condition.count.phrase if condition.count else None)
        if spec is not None and id(spec) not in plans:
            plans[id(spec)] = _plan(spec, rubric, index, language)
        if condition.intent is not None and id(condition.intent) not in intents:
            try:
                intents[id(condition.intent)] = plan_intent(
                    condition.intent, language, rubric.intents, examples
                )
            except KeyError as error:
                raise RubricError(
                    f"intent library {error} is not loaded; load rubrics with "
                    "load_rubric/load_rubrics so their intent libraries are attached"
                ) from error
    logger.debug(
        "compiled rubric %s for %r: %d phrase groups", rubric.id, language, index.group_count
    )
    return CompiledRubric(language, index, plans, intents, examples, keys)


def compiled_for(rubric: Rubric, language: str) -> CompiledRubric:
    """The rubric compiled for ``language``, compiled on first use and kept with the rubric."""
    language = primary_language(language)
    found = rubric.compiled.get(language)
    if found is None:
        found = compile_rubric(rubric, language)
        rubric.compiled[language] = found
    return found
