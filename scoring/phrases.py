"""Phrase lists: alternatives in braces, and resolving a phrase condition's lists for a language.

A phrase may hold alternatives in braces, ``{a|b|}`` (an empty alternative makes the part
optional), so one line covers the ways agents say the same thing::

    "i {have |}{updated|changed} your"      →  4 phrases
    "已{经|}{为|帮}您{开通|取消}"           →  8 phrases
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from scoring.schema import MatchMode, PhraseLibrary, PhraseSpec

MAX_EXPANSIONS = 2000
_GROUP = re.compile(r"\{([^{}]*)\}")


class PhraseSyntaxError(ValueError):
    """A phrase's braces are unbalanced, nested, or expand to too many phrases."""


@lru_cache(maxsize=8192)
def expand_alternatives(phrase: str) -> tuple[str, ...]:
    """Every phrase a ``{a|b}`` pattern stands for, whitespace collapsed, in order, no repeats.

    >>> expand_alternatives("good {morning|afternoon}")
    ('good morning', 'good afternoon')
    """
    parts: list[tuple[str, ...]] = []
    position = 0
    for group in _GROUP.finditer(phrase):
        parts.append((phrase[position : group.start()],))
        parts.append(tuple(group.group(1).split("|")))
        position = group.end()
    parts.append((phrase[position:],))
    for literal in (p[0] for p in parts[::2]):
        if "{" in literal or "}" in literal or "|" in literal:
            raise PhraseSyntaxError(
                f"phrase {phrase!r}: braces must be balanced and not nested, and '|' only "
                "separates alternatives inside {...}"
            )
    count = 1
    for options in parts:
        count *= len(options)
    if count > MAX_EXPANSIONS:
        raise PhraseSyntaxError(
            f"phrase {phrase!r} expands to {count} phrases (limit {MAX_EXPANSIONS}); split it"
        )
    seen: dict[str, None] = {}
    for combination in itertools.product(*parts):
        text = " ".join("".join(combination).split())
        if text:
            seen.setdefault(text, None)
    if not seen:
        raise PhraseSyntaxError(f"phrase {phrase!r} expands to nothing but empty text")
    return tuple(seen)


@dataclass(frozen=True)
class ListedPhrase:
    """One phrase as the rubric lists it, with the variants it expands to."""

    listed: str
    variants: tuple[str, ...]


def primary_language(language: str | None) -> str:
    """'zh-CN' → 'zh'; None → ''."""
    if not language:
        return ""
    return language.lower().replace("_", "-").split("-")[0]


def _for_language(lists: dict[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    for key, phrases in lists.items():
        if primary_language(key) == language:
            return phrases
    return ()


def _inline(lists: dict[str, tuple[str, ...]] | tuple[str, ...] | None, language: str) -> list[str]:
    if isinstance(lists, tuple):
        return list(lists)
    if isinstance(lists, dict):
        return list(_for_language(lists, language))
    return []


def phrases_for(
    spec: PhraseSpec, language: str, libraries: dict[str, PhraseLibrary]
) -> tuple[ListedPhrase, ...]:
    """The phrases a condition means for a call in ``language`` (inline lists, then libraries).

    Raises KeyError naming a library that is not loaded.
    """
    language = primary_language(language)
    listed = _inline(spec.phrases, language)
    for name in spec.libraries:
        listed.extend(_for_language(libraries[name].phrases, language))
    return _listed(listed, spec.match)


def exclusions_for(
    spec: PhraseSpec, language: str, libraries: dict[str, PhraseLibrary]
) -> tuple[ListedPhrase, ...]:
    """The near-misses of a condition for ``language``: its own ``exclude`` and its libraries'.

    Raises KeyError naming a library that is not loaded.
    """
    language = primary_language(language)
    listed = _inline(spec.exclude, language)
    for name in spec.libraries:
        listed.extend(_for_language(libraries[name].exclude, language))
    return _listed(listed, spec.match)


def _listed(listed: list[str], match: MatchMode) -> tuple[ListedPhrase, ...]:
    if match is MatchMode.REGEX:
        return tuple(ListedPhrase(p, (p,)) for p in dict.fromkeys(listed))
    return tuple(ListedPhrase(p, expand_alternatives(p)) for p in dict.fromkeys(listed))


def languages_of(spec: PhraseSpec, libraries: dict[str, PhraseLibrary]) -> set[str] | None:
    """Languages the condition has phrases for; None when it has a list for every language."""
    if isinstance(spec.phrases, tuple):
        return None
    found: set[str] = set()
    if isinstance(spec.phrases, dict):
        found.update(primary_language(key) for key in spec.phrases)
    for name in spec.libraries:
        if name in libraries:
            found.update(primary_language(key) for key in libraries[name].phrases)
    return found
