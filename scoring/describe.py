"""A rubric in plain words, for ``qa rubrics explain`` and the review UI."""

from __future__ import annotations

import textwrap

from scoring.compiled import describe_source, describe_window
from scoring.loader import walk_conditions
from scoring.schema import (
    Condition,
    IntentLibrary,
    IntentSpec,
    PhraseLibrary,
    PhraseSpec,
    Rubric,
)

_PREVIEW = 4


def _preview(phrases: tuple[str, ...]) -> str:
    shown = ", ".join(repr(p) for p in phrases[:_PREVIEW])
    return shown + (f", ... ({len(phrases)} in all)" if len(phrases) > _PREVIEW else "")


def _library_lines(
    name: str, library: PhraseLibrary | IntentLibrary | None, indent: str
) -> list[str]:
    if library is None:
        return [f"{indent}{name}: (not loaded)"]
    lines = [f"{indent}{name}" + (f" — {library.description}" if library.description else "")]
    if isinstance(library, IntentLibrary):
        limit = library.threshold
        shown = (
            ", ".join(f"{k} {v:g}" for k, v in limit.items())
            if isinstance(limit, dict)
            else f"{limit:g}"
        )
        lines[0] += f" (similarity at least {shown})"
        listed, near = library.examples, "not like"
    else:
        listed, near = library.phrases, "not inside"
    for language, phrases in listed.items():
        lines.append(f"{indent}  {language}: {_preview(phrases)}")
    for language, phrases in library.exclude.items():
        lines.append(f"{indent}  {language}, {near}: {_preview(phrases)}")
    return lines


def _intent_line(spec: IntentSpec) -> str:
    who = "anyone" if spec.role == "any" else spec.role
    names = ", ".join(spec.libraries)
    source = " or ".join(
        part
        for part in (names and f"intent {names}", spec.examples is not None and "inline examples")
        if part
    )
    details = []
    if spec.threshold is not None:
        details.append(f"similarity at least {spec.threshold:g}")
    if spec.min_count > 1:
        details.append(f"in at least {spec.min_count} turns")
    if spec.exclude is not None:
        details.append("unless closer to its exclude examples")
    tail = f" ({', '.join(details)})" if details else ""
    return f"{who} says something meaning {source}{describe_window(spec.window, spec.role)}{tail}"


def _phrase_line(spec: PhraseSpec) -> str:
    who = "anyone" if spec.role == "any" else spec.role
    details = [f"match {spec.match.value}"]
    if spec.threshold is not None:
        details.append(f"threshold {spec.threshold:g}")
    if spec.min_count > 1:
        details.append(f"in at least {spec.min_count} turns")
    if spec.exclude is not None:
        details.append("not inside its exclude phrases")
    where = describe_window(spec.window, spec.role)
    return f"{who} says {describe_source(spec)}{where} ({', '.join(details)})"


def describe_condition(condition: Condition, indent: str = "") -> list[str]:
    """The condition tree as indented lines, one node per line."""
    kind = condition.kind
    if kind in ("all", "any"):
        children = condition.all_ if kind == "all" else condition.any_
        lines = [f"{indent}{kind} of:"]
        for child in children or ():
            lines.extend(describe_condition(child, indent + "  "))
        return lines
    if kind == "not" and condition.not_ is not None:
        return [f"{indent}not:", *describe_condition(condition.not_, indent + "  ")]
    if kind == "before" and condition.before is not None:
        before = condition.before
        which = "the first" if before.anchor == "first" else "the last"
        return [
            f"{indent}before — this:",
            *describe_condition(before.first, indent + "    "),
            f"{indent}  happens earlier than {which} match of:",
            *describe_condition(before.then, indent + "    "),
        ]
    if kind == "after" and condition.after is not None:
        after = condition.after
        which = "the first" if after.anchor == "first" else "the last"
        return [
            f"{indent}after — this:",
            *describe_condition(after.then, indent + "    "),
            f"{indent}  happens later than {which} match of:",
            *describe_condition(after.first, indent + "    "),
        ]
    if kind == "phrase" and condition.phrase is not None:
        return [f"{indent}{_phrase_line(condition.phrase)}"]
    if kind == "intent" and condition.intent is not None:
        return [f"{indent}{_intent_line(condition.intent)}"]
    if kind == "count" and condition.count is not None:
        count = condition.count
        bounds = [
            f"{word} {value}"
            for word, value in (("at least", count.at_least), ("at most", count.at_most))
            if value is not None
        ]
        return [f"{indent}{' and '.join(bounds)} turns where {_phrase_line(count.phrase)}"]
    if kind == "metric" and condition.metric is not None:
        metric = condition.metric
        label = metric.name.value if metric.role is None else f"{metric.role} {metric.name.value}"
        return [f"{indent}metric {label} {metric.symbol} {metric.value:g}"]
    if kind == "meta" and condition.meta is not None:
        facts = [
            f"{key} is {' or '.join(map(str, values))}"
            for key, values in condition.meta.model_dump(exclude_none=True, mode="json").items()
        ]
        return [f"{indent}call {', '.join(facts)}"]
    return [f"{indent}{kind}"]


def _applies(rubric: Rubric) -> str:
    target = rubric.applies_to
    parts = [
        "direction " + (", ".join(d.value for d in target.direction) or "any"),
        "queues " + (", ".join(target.queues) or "any"),
        "languages " + (", ".join(target.languages) or "any"),
    ]
    return "; ".join(parts)


def describe_rubric(rubric: Rubric) -> str:
    """The whole rubric as readable text: items with weights, conditions, flags, libraries."""
    lines = [f"{rubric.id} v{rubric.version} — {rubric.title}"]
    if rubric.source:
        lines.append(f"  file: {rubric.source}")
    if rubric.description:
        lines.append(
            textwrap.fill(
                rubric.description.strip(), 96, initial_indent="  ", subsequent_indent="  "
            )
        )
    lines.append(f"  applies to: {_applies(rubric)}")
    total = sum(item.weight for item in rubric.items)
    lines.append(
        f"  pass mark: {rubric.pass_mark:g} of 100 (weights normalised over applicable "
        "items; a failed critical item fails the call with score 0)"
    )
    lines.append("")
    lines.append("Items:")
    for item in rubric.items:
        share = 100.0 * item.weight / total
        tag = "  CRITICAL" if item.critical else ""
        lines.append(f"  {item.id}  weight {item.weight:g} ({share:.0f}% when all apply){tag}")
        lines.append(f"    {item.title}")
        if item.description:
            lines.append(
                textwrap.fill(
                    item.description.strip(), 96, initial_indent="    ", subsequent_indent="    "
                )
            )
        if item.applies_if is not None:
            lines.append("    applies if (else N/A):")
            lines.extend(describe_condition(item.applies_if, "      "))
        lines.append("    passes if:")
        lines.extend(describe_condition(item.check, "      "))
    if rubric.flags:
        lines.append("")
        lines.append("Flags:")
    for flag in rubric.flags:
        lines.append(f"  {flag.id}  {flag.title} (default severity {flag.default_level})")
        lines.append("    raised if:")
        lines.extend(describe_condition(flag.when, "      "))
        for rule in flag.severity:
            lines.append(f"    severity {rule.level} if:")
            lines.extend(describe_condition(rule.when, "      "))
        for kind in flag.kind:
            lines.append(f"    kind {kind.value} if:")
            lines.extend(describe_condition(kind.when, "      "))
        if flag.default_kind:
            lines.append(f"    kind otherwise: {flag.default_kind}")
    used = sorted(
        {
            name
            for c in _conditions(rubric)
            for spec in (c.phrase, c.count.phrase if c.count else None)
            if spec is not None
            for name in spec.libraries
        }
    )
    if used:
        lines.append("")
        lines.append("Phrase libraries:")
        for name in used:
            lines.extend(_library_lines(name, rubric.libraries.get(name), "  "))
    meant = sorted({n for c in _conditions(rubric) if c.intent for n in c.intent.libraries})
    if meant:
        lines.append("")
        lines.append("Intent libraries:")
        for name in meant:
            lines.extend(_library_lines(name, rubric.intents.get(name), "  "))
    return "\n".join(lines)


def _conditions(rubric: Rubric) -> list[Condition]:
    return [condition for _, condition in walk_conditions(rubric)]
