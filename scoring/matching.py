"""Phrase matchers over normalised text: exact, fuzzy (English), pinyin (Mandarin) and regex.

Every matcher answers the same question — does this phrase occur in this turn, and how well? —
and returns a :class:`PhraseHit` with a similarity in 0..1 (1.0 is a verbatim match).

- ``exact``: the normalised phrase occurs verbatim, on word boundaries for Latin text.
- ``fuzzy``: rapidfuzz ratio between the phrase and the best window of words around its length,
  so "Acne Telecom" still matches "Acme Telecom" while "hi" never matches inside "this".
- ``pinyin``: tone-less pinyin syllables, with the usual sound-alike pairs merged (z/zh, c/ch,
  s/sh, n/l, -n/-ng), so ASR homophones (安可电信 for 安科电信, 服务秘码 for 服务密码) match. A
  homophone match scores 0.95; syllable insertions/deletions lower it further.
- ``regex``: a Python regular expression searched in the normalised text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from scoring.normalize import has_cjk, is_cjk, normalize_text


class MatchMode(StrEnum):
    AUTO = "auto"
    EXACT = "exact"
    FUZZY = "fuzzy"
    PINYIN = "pinyin"
    REGEX = "regex"


DEFAULT_THRESHOLD = {MatchMode.FUZZY: 0.85, MatchMode.PINYIN: 0.85}
HOMOPHONE_SIMILARITY = 0.95
# Phrases this short (characters for fuzzy, syllables for pinyin) only match exactly: "hi" must
# not match inside "this", and one syllable has too many homophones to mean anything.
_FUZZY_MIN_CHARS = 4
_PINYIN_MIN_SYLLABLES = 2
_DIGIT_SYLLABLES = dict(
    zip(
        "0123456789", ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu"), strict=True
    )
)
# A word character that is not a CJK ideograph: Latin phrases need these as boundaries, while a
# digit string right after a Chinese character (打12315) is still a separate word.
_WORD = r"[^\W\u3400-\u9fff\uf900-\ufaff]"
_CHINESE_LANGUAGES = frozenset({"zh", "yue", "wuu", "cmn"})


@dataclass(frozen=True)
class PhraseHit:
    """A phrase found in a turn: which phrase, how close, and the words heard there."""

    phrase: str
    similarity: float
    heard: str
    offset: float = 0.0  # where in the turn the match starts, 0..1: orders two hits in one turn


@dataclass(frozen=True)
class Prepared:
    """Text in the forms the matchers compare: normalised, words, and pinyin syllables."""

    normalized: str
    cjk: bool  # has Chinese characters
    compact: str  # normalised without spaces: CJK substring search
    words: tuple[str, ...]
    syllables: tuple[str, ...]  # canonical (sound-alike merged) tone-less pinyin
    sources: tuple[str, ...]  # the character or word each syllable came from


def _canonical_syllable(syllable: str) -> str:
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    if syllable.startswith("n") and len(syllable) > 1 and syllable != "ng":
        syllable = "l" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def _syllables(normalized: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    syllables: list[str] = []
    sources: list[str] = []
    for match in re.finditer(r"[\u3400-\u9fff\uf900-\ufaff]+|\d|[^\W\d]+|\S", normalized):
        chunk = match.group()
        if is_cjk(chunk[0]):
            pinyin = lazy_pinyin(chunk)
            if len(pinyin) != len(chunk):  # a character pypinyin does not know: keep it whole
                pinyin = [lazy_pinyin(char)[0] for char in chunk]
            syllables.extend(_canonical_syllable(p) for p in pinyin)
            sources.extend(chunk)
        elif chunk.isdigit():
            syllables.append(_canonical_syllable(_DIGIT_SYLLABLES.get(chunk, chunk)))
            sources.append(chunk)
        else:
            syllables.append(chunk)
            sources.append(chunk)
    return tuple(syllables), tuple(sources)


@lru_cache(maxsize=32768)
def prepare(text: str) -> Prepared:
    """Normalise text once into every form the matchers use (cached)."""
    normalized = normalize_text(text)
    syllables, sources = _syllables(normalized)
    return Prepared(
        normalized=normalized,
        cjk=has_cjk(normalized),
        compact=normalized.replace(" ", ""),
        words=tuple(normalized.split()),
        syllables=syllables,
        sources=sources,
    )


def resolve_mode(mode: MatchMode, phrase: str, language: str) -> MatchMode:
    """``auto`` is pinyin for Chinese phrases or Chinese calls, fuzzy otherwise."""
    if mode is not MatchMode.AUTO:
        return mode
    primary = language.lower().split("-")[0].split("_")[0]
    return MatchMode.PINYIN if has_cjk(phrase) or primary in _CHINESE_LANGUAGES else MatchMode.FUZZY


@lru_cache(maxsize=4096)
def _word_pattern(phrase_normalized: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!{_WORD}){re.escape(phrase_normalized)}(?!{_WORD})")


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rubric regex (cached); raises re.error for a bad pattern."""
    return re.compile(pattern)


def _exact(phrase: str, target: Prepared, source: Prepared) -> PhraseHit | None:
    if not target.normalized:
        return None
    if target.cjk:
        at = source.compact.find(target.compact)
        if at >= 0:
            return PhraseHit(phrase, 1.0, target.normalized, at / len(source.compact))
        return None
    found = _word_pattern(target.normalized).search(source.normalized)
    if found:
        return PhraseHit(phrase, 1.0, target.normalized, found.start() / len(source.normalized))
    return None


def _fuzzy(phrase: str, target: Prepared, source: Prepared, threshold: float) -> PhraseHit | None:
    exact = _exact(phrase, target, source)
    if exact or len(target.normalized) < _FUZZY_MIN_CHARS or not source.words:
        return exact
    if fuzz.partial_ratio(target.normalized, source.normalized) < threshold * 100:
        return None  # cheap prefilter: no window can do better than the best substring
    size = len(target.words)
    best: tuple[float, str, int] = (0.0, "", 0)
    for width in range(max(1, size - 1), size + 2):
        for start in range(0, max(1, len(source.words) - width + 1)):
            window = " ".join(source.words[start : start + width])
            score = fuzz.ratio(target.normalized, window) / 100
            if score > best[0]:
                best = (score, window, start)
    score, heard, start = best
    if score >= threshold:
        return PhraseHit(phrase, round(score, 3), heard, start / len(source.words))
    return None


def _pinyin(phrase: str, target: Prepared, source: Prepared, threshold: float) -> PhraseHit | None:
    exact = _exact(phrase, target, source)
    if exact or len(target.syllables) < _PINYIN_MIN_SYLLABLES or not source.syllables:
        return exact
    if not target.cjk:
        return None  # digits and Latin words match whole: 12315 is not inside 13812315000
    wanted = target.syllables
    present = set(source.syllables)
    if sum(s in present for s in wanted) < len(wanted) * threshold - 1:
        return None  # cheap prefilter: too few of the phrase's syllables occur at all
    size = len(wanted)
    best: tuple[float, int, int] = (0.0, 0, 0)
    for width in range(max(1, size - 1), size + 2):
        for start in range(0, max(1, len(source.syllables) - width + 1)):
            window = source.syllables[start : start + width]
            score = Levenshtein.normalized_similarity(wanted, window) * HOMOPHONE_SIMILARITY
            if score > best[0]:
                best = (score, start, width)
    score, start, width = best
    if score >= threshold:
        heard = "".join(source.sources[start : start + width])
        return PhraseHit(phrase, round(score, 3), heard, start / len(source.syllables))
    return None


def _regex(phrase: str, source: Prepared) -> PhraseHit | None:
    found = compile_regex(phrase).search(source.normalized)
    if found is None:
        return None
    return PhraseHit(phrase, 1.0, found.group(), found.start() / max(1, len(source.normalized)))


def match_phrase(
    phrase: str, text: str, mode: MatchMode, threshold: float | None = None
) -> PhraseHit | None:
    """Find ``phrase`` in ``text`` (both raw; normalised here) with a concrete match mode.

    ``threshold`` (0..1) applies to fuzzy and pinyin; None takes the mode's default.

    >>> match_phrase("安科电信", "欢迎致电安可电信", MatchMode.PINYIN).similarity
    0.95
    """
    source = prepare(text)
    if mode is MatchMode.REGEX:
        return _regex(phrase, source)
    target = prepare(phrase)
    if mode is MatchMode.EXACT:
        return _exact(phrase, target, source)
    limit = DEFAULT_THRESHOLD[mode] if threshold is None else threshold
    if mode is MatchMode.FUZZY:
        return _fuzzy(phrase, target, source, limit)
    if mode is MatchMode.PINYIN:
        return _pinyin(phrase, target, source, limit)
    raise ValueError(f"match mode {mode!r} must be resolved first (see resolve_mode)")
