"""How benchmark transcripts are compared with their references: normalisation and edit distance.

English is scored in words (WER), Mandarin in characters (CER)::

    errors = edit_distance(english_words("Press 1."), english_words("press one"))  # 0

English: lower case, hyphens to spaces, ``#`` → "pound", bracketed notes ("[beep]") removed,
numbers 0–99 as words and longer ones digit by digit (as IVR prompts read them), punctuation
removed. Mandarin: OpenCC t2s on both sides, punctuation and spaces removed; Arabic digits are left
as they are, so "12线" for "一二线" counts as two errors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


@cache
def _to_simplified() -> Any:  # OpenCC has no type information
    from opencc import OpenCC

    return OpenCC("t2s")


def _number_words(match: re.Match[str]) -> str:
    n = int(match.group())
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return " ".join(_ONES[int(d)] for d in match.group())  # long numbers: digit by digit


def english_words(text: str) -> list[str]:
    """The words WER counts: see the module docstring for the normalisation."""
    text = text.lower().replace("-", " ").replace("#", " pound ")
    text = re.sub(r"\[[^]]*\]", " ", text)
    text = re.sub(r"\d+", _number_words, text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def chinese_chars(text: str) -> list[str]:
    """The characters CER counts: Simplified (OpenCC t2s), no punctuation, no spaces."""
    text = _to_simplified().convert(text)
    return [c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P")]


def tokens(text: str, language: str) -> list[str]:
    """Words for English, characters for Mandarin (``zh``)."""
    return chinese_chars(text) if language == "zh" else english_words(text)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions) between token lists."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def align(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """A minimum-edit alignment: ``(ref index, hyp index)`` pairs in order; ``None`` on one side
    is a deletion (no hyp token) or an insertion (no ref token)."""
    rows, cols = len(ref) + 1, len(hyp) + 1
    cost = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(cols):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost[i][j] = min(
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
                cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
            )
    pairs: list[tuple[int | None, int | None]] = []
    i, j = len(ref), len(hyp)
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


@dataclass
class ErrorCount:
    """Edit errors over reference tokens, summed over clips, with the time it took."""

    errors: int = 0
    tokens: int = 0
    clips: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0

    def add(self, ref: Sequence[str], hyp: Sequence[str], audio_s: float, compute_s: float) -> int:
        """Count one clip; returns its errors."""
        errors = edit_distance(ref, hyp)
        self.errors += errors
        self.tokens += len(ref)
        self.clips += 1
        self.audio_s += audio_s
        self.compute_s += compute_s
        return errors

    @property
    def rate(self) -> float | None:
        """Errors per reference token (WER or CER); ``None`` with no reference tokens."""
        return self.errors / self.tokens if self.tokens else None

    @property
    def rtf(self) -> float | None:
        """Real-time factor: processing seconds over audio seconds."""
        return self.compute_s / self.audio_s if self.audio_s else None
