"""Normalised text as tokens: the unit every phrase matcher compares.

A Chinese character is one token keyed by its tone-less pinyin with the usual sound-alike pairs
merged (z/zh, c/ch, s/sh, n/l, -n/-ng), so homophones share a key; a number (a run of digits —
normalisation has already written 幺二三幺五 and "one two three" as digits) and a Latin word are
one token each, keyed by themselves, so 12315 never matches inside 13812315000. Every token
keeps its place in the normalised string, so a match can tell a verbatim hit (similarity 1.0)
from a homophone and quote what ASR wrote.

Turns are tokenised once per call (:func:`tokenize_turn`), fast: a turn's characters are keyed
by their most common reading, through a per-character table. Phrases are tokenised once per
rubric (:func:`tokenize_phrase`) with pypinyin's reading in context, plus the most common
reading where that differs, so both 银行 and the homophone 银航 match the phrase 银行.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import cache

from pypinyin import Style, lazy_pinyin, pinyin

CJK, NUMBER, WORD = "c", "d", "w"
_CJK_CLASS = "\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_PIECES = re.compile(rf"[{_CJK_CLASS}]|\d+|[^\W\d{_CJK_CLASS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")
_NOT_CHINESE = re.compile(rf"[^{_CJK_CLASS}]")
_NOT_CHINESE_OR_DIGIT = re.compile(rf"[^{_CJK_CLASS}0-9]")
_CHINESE_OR_NUMBER = re.compile(rf"[{_CJK_CLASS}]|[0-9]+")
_HAS_DIGIT = re.compile(r"\d")
_DIGIT_IN_WORD = re.compile(r"\d[^\W\d]|[^\W\d]\d")  # "4g", "mp3": split into pieces


def canonical_syllable(syllable: str) -> str:
    """Merge the sound-alike pairs ASR confuses: zh→z, ch→c, sh→s, n→l, -ng→-n."""
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    if syllable.startswith("n") and len(syllable) > 1 and syllable != "ng":
        syllable = "l" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


@cache
def char_readings(char: str) -> tuple[str, ...]:
    """Every canonical reading of one Chinese character, the most common first."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)
    found = readings[0] if readings and readings[0] else [char]
    return tuple(dict.fromkeys(canonical_syllable(r) for r in found if r))


@cache
def _toned_readings(char: str) -> frozenset[str]:
    """Every reading of one character with its tone and no sound-alike pairs merged."""
    found = pinyin(char, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)
    return frozenset(found[0]) if found and found[0] else frozenset((char,))


def read_alike(heard: str, written: str) -> bool:
    """Whether each character of ``heard`` may be read exactly as the one of ``written`` in its
    place: the same syllable, tone included (any of either character's readings).

    A homophone ASR writes for a word it heard is read alike (服务秘码 for 服务密码, 工信不 for
    工信部); a chance sound-alike made of the ends of other words mostly is not (收购了 is not
    受够了, 交通方不方便 holds no 烦不烦, 腹肌什么 no 急什么): the tone or a merged sound differs.
    """
    if len(heard) != len(written):
        return False
    return all(
        a == b or not _toned_readings(a).isdisjoint(_toned_readings(b))
        for a, b in zip(heard, written, strict=True)
    )


class Tokens:
    """Normalised text split into tokens (parallel sequences, built once per turn).

    ``keys`` are the canonical keys; ``kinds`` one letter per token (CJK "c", NUMBER "d", WORD
    "w"); ``starts``/``ends`` the character offsets in ``normalized`` (worked out on first use:
    most turns never need them); ``alternatives`` maps a token of a *phrase* to the other key it
    may be heard as (a polyphone's most common reading).
    """

    __slots__ = ("_ends", "_gap", "_starts", "alternatives", "keys", "kinds", "normalized")

    def __init__(
        self,
        normalized: str,
        keys: list[str],
        kinds: str,
        starts: Sequence[int] | None,
        ends: Sequence[int] | None,
        alternatives: dict[int, tuple[str, ...]] | None = None,
        gap: int = 1,
    ) -> None:
        self.normalized = normalized
        self.keys = keys
        self.kinds = kinds
        self._starts = starts
        self._ends = ends
        self._gap = gap  # with no offsets given: characters between tokens (1 space, or 0)
        self.alternatives = alternatives or {}

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def starts(self) -> Sequence[int]:
        if self._starts is None:
            self._offsets()
        assert self._starts is not None
        return self._starts

    @property
    def ends(self) -> Sequence[int]:
        if self._ends is None:
            self._offsets()
        assert self._ends is not None
        return self._ends

    def _offsets(self) -> None:
        # the fast paths leave them out: each token is its own text, ``gap`` characters apart
        gap = self._gap
        ends = list(itertools.accumulate(len(key) + gap for key in self.keys))
        self._ends = [end - gap for end in ends]
        self._starts = [0, *ends[:-1]]

    def _offsets_from(self, texts: list[str]) -> None:
        ends = list(itertools.accumulate(map(len, texts)))
        self._ends = ends
        self._starts = [0, *ends[:-1]]

    def surface(self, first: int, last: int) -> str:
        """The normalised text of tokens ``first``..``last`` (inclusive)."""
        if self._starts is None and self._gap:  # words and numbers separated by single spaces
            return " ".join(self.keys[first : last + 1])
        return self.normalized[self.starts[first] : self.ends[last]]


class _Primary(dict[str, str]):
    """Chinese character → its key: its most common reading."""

    def __missing__(self, char: str) -> str:
        value = char_readings(char)[0]
        self[char] = value
        return value


_PRIMARY = _Primary()


def _chinese(normalized: str) -> Tokens:
    """Fast path: only Chinese characters, one token per character."""
    size = len(normalized)
    keys = list(map(_PRIMARY.__getitem__, normalized))
    return Tokens(normalized, keys, CJK * size, range(size), range(1, size + 1))


def _chinese_and_numbers(normalized: str) -> Tokens:
    """Fast path: Chinese characters and numbers, no spaces: a token per character or number."""
    texts = _CHINESE_OR_NUMBER.findall(normalized)
    primary = _PRIMARY
    keys = [text if text[0].isdigit() else primary[text] for text in texts]
    kinds = "".join([NUMBER if text[0].isdigit() else CJK for text in texts])
    tokens = Tokens(normalized, keys, kinds, None, None, gap=0)
    tokens._offsets_from(texts)
    return tokens


def _words(normalized: str) -> Tokens:
    """Fast path: words and numbers separated by spaces, one token each; a turn with a token
    that mixes letters and digits ("4g", "mp3") is split into pieces instead."""
    keys = normalized.split(" ")
    kinds: list[str] = []
    for key in keys:
        if key.isdigit():
            kinds.append(NUMBER)
        elif key.isalpha() or _DIGIT_IN_WORD.search(key) is None:
            kinds.append(WORD)
        else:
            return _pieces(normalized)
    return Tokens(normalized, keys, "".join(kinds), None, None)


def _pieces(normalized: str) -> Tokens:
    """Any mix: a token per Chinese character, per number and per run of other letters."""
    keys: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[str] = []
    for piece in _PIECES.finditer(normalized):
        text = piece.group()
        if text.isdigit():
            keys.append(text)
            kinds.append(NUMBER)
        elif _HAS_CJK.match(text):
            keys.append(_PRIMARY[text])
            kinds.append(CJK)
        else:
            keys.append(text)
            kinds.append(WORD)
        starts.append(piece.start())
        ends.append(piece.end())
    return Tokens(normalized, keys, "".join(kinds), starts, ends)


def _contextual_readings(tokens: Tokens) -> None:
    """Give each Chinese character of a phrase its reading in context (银行: hang, not xing)."""
    run: list[int] = []
    for index in [*range(len(tokens)), -1]:
        if index >= 0 and tokens.kinds[index] == CJK:
            run.append(index)
            continue
        if run:
            chars = [tokens.surface(i, i) for i in run]
            readings = lazy_pinyin("".join(chars))
            if len(readings) == len(run):
                for i, char, reading in zip(run, chars, readings, strict=True):
                    key = canonical_syllable(reading)
                    if key != tokens.keys[i] and key in char_readings(char):
                        tokens.alternatives[i] = (tokens.keys[i],)
                        tokens.keys[i] = key
            run = []


def tokenize_turn(normalized: str) -> Tokens:
    """Tokens of a normalised turn; a Chinese character is keyed by its most common reading."""
    if not normalized:
        return Tokens(normalized, [], "", (), ())
    if not normalized.isascii() and _HAS_CJK.search(normalized):
        if _NOT_CHINESE.search(normalized) is None:
            return _chinese(normalized)
        if _NOT_CHINESE_OR_DIGIT.search(normalized) is None:
            return _chinese_and_numbers(normalized)
        return _pieces(normalized)
    if _HAS_DIGIT.search(normalized) is None:
        return Tokens(normalized, normalized.split(" "), WORD * (normalized.count(" ") + 1),
                      None, None)  # fmt: skip
    return _words(normalized)


def tokenize_phrase(normalized: str) -> Tokens:
    """Tokens of a normalised phrase. A Chinese character takes its reading in context (行 is
    hang in 银行), and, where that is not its most common reading, may also be heard as that
    one (``alternatives``), since a turn's characters are keyed without context."""
    tokens = _pieces(normalized)
    if CJK in tokens.kinds:
        _contextual_readings(tokens)
    return tokens
