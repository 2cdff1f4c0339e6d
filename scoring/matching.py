"""What each match mode (:class:`scoring.schema.MatchMode`) does, and what a phrase match reports.

Every matcher answers the same question — does this phrase occur in this turn, and how well? —
with a :class:`PhraseHit` whose similarity is in 0..1 (1.0 is a verbatim match):

- ``exact``: the normalised phrase occurs verbatim, on word boundaries for Latin text.
- ``fuzzy``: rapidfuzz ratio between the phrase and the words heard where it was found, so
  "Acne Telecom" still matches "Acme Telecom" while "hi" never matches inside "this".
- ``pinyin``: tone-less pinyin syllables, with the usual sound-alike pairs merged (z/zh, c/ch,
  s/sh, n/l, -n/-ng), so ASR homophones (安可电信 for 安科电信, 服务秘码 for 服务密码) match. A
  homophone match scores 0.95; syllable insertions/deletions lower it further.
- ``regex``: a Python regular expression searched in the normalised text.

The matchers themselves live in :mod:`scoring.index`, which compiles a rubric's phrase lists
once and matches them all in one pass over a turn.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from scoring.normalize import has_cjk
from scoring.schema import MatchMode

DEFAULT_THRESHOLD = {MatchMode.FUZZY: 0.85, MatchMode.PINYIN: 0.85}
HOMOPHONE_SIMILARITY = 0.95
_CHINESE_LANGUAGES = frozenset({"zh", "yue", "wuu", "cmn"})


class PhraseHit:
    """A phrase found in a turn: which phrase, how close, and the words heard there.

    ``start``/``end`` are character offsets in the normalised turn; ``offset`` is ``start`` as
    a fraction of it (0..1), which orders two hits in one turn. ``approximate``: a guess that
    the words heard are a misheard phrase (fuzzy, or pinyin with syllable edits), as opposed to
    the phrase as written or a homophone of it.

    Immutable (``Final`` fields), compared and hashed by value, as a frozen dataclass; a plain
    class so that making one is cheap when compiled (a dataclass's generated ``__init__`` sets
    each field through ``object.__setattr__``: most of a hit's cost).
    """

    __slots__ = ("approximate", "end", "heard", "offset", "phrase", "similarity", "start")

    def __init__(
        self,
        phrase: str,
        similarity: float,
        heard: str,
        offset: float = 0.0,
        start: int = 0,
        end: int = 0,
        approximate: bool = False,
    ) -> None:
        self.phrase: Final = phrase
        self.similarity: Final = similarity
        self.heard: Final = heard
        self.offset: Final = offset
        self.start: Final = start
        self.end: Final = end
        self.approximate: Final = approximate

    def _fields(self) -> tuple[str, float, str, float, int, int, bool]:
        return (self.phrase, self.similarity, self.heard, self.offset, self.start, self.end,
                self.approximate)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhraseHit):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"PhraseHit(phrase={self.phrase!r}, similarity={self.similarity!r}, "
            f"heard={self.heard!r}, offset={self.offset!r}, start={self.start!r}, "
            f"end={self.end!r}, approximate={self.approximate!r})"
        )

    def overlaps(self, other: PhraseHit) -> bool:
        """Whether the two hits share a stretch of the turn."""
        return self.start < other.end and other.start < self.end


def resolve_mode(mode: MatchMode, phrase: str, language: str) -> MatchMode:
    """``auto`` is pinyin for Chinese phrases or Chinese calls, fuzzy otherwise."""
    if mode is not MatchMode.AUTO:
        return mode
    primary = language.lower().split("-")[0].split("_")[0]
    return MatchMode.PINYIN if has_cjk(phrase) or primary in _CHINESE_LANGUAGES else MatchMode.FUZZY


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rubric regex (cached); raises re.error for a bad pattern."""
    return re.compile(pattern)
