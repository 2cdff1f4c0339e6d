"""Text normalisation shared by every phrase matcher.

ASR output and rubric phrases go through the same :func:`normalize_text`, so a phrase matches
whatever way Whisper happened to write it: case, punctuation (ASCII and CJK), full-width forms,
Traditional characters, English contractions and numbers spoken as words or written as digits.

A call's turns are normalised once, when the call is processed (:func:`normalize_texts`), and
stored with it, so re-scoring reads them (:class:`NormalizedTexts`) instead of normalising again;
texts stored by another version of this module are normalised again (:data:`NORMALIZATION`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version

import opencc

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})

# Contractions are expanded so that "I've updated" matches the phrase "I have updated". A bare
# "'s" is only expanded after pronouns where it can only mean "is" (never a possessive).
_CONTRACTION = re.compile(
    r"\b(?:(won|can|shan)'t|(\w+)n't|(\w+)'(re|ve|ll)|(i)'m"
    r"|(it|that|what|there|here|he|she|who|where|how|let)'s)\b"
)
_NOT = {"won": "will not", "can": "can not", "shan": "shall not"}
_SUFFIX = {"re": " are", "ve": " have", "ll": " will"}


def _expand(match: re.Match[str]) -> str:
    irregular, stem, base, suffix, i_am, pronoun = match.groups()
    if irregular:
        return _NOT[irregular]
    if stem:
        return f"{stem} not"
    if base:
        return base + _SUFFIX[suffix]
    if i_am:
        return "i am"
    return f"{pronoun} is"


_EN_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_EN_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

# Digit characters as read out in phone numbers and codes (幺 is "one" in numbers). 两 is left
# alone: it means "two of something", never a digit in a string of digits.
_ZH_DIGITS = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
# Only runs of two or more are digit strings; a lone 一 is usually part of a word (一下, 统一).
_ZH_DIGIT_RUN = re.compile("[" + "".join(_ZH_DIGITS) + "]{2,}")
_DIGIT_GAP = re.compile(r"(?<=\d) (?=\d)")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])")


def is_cjk(char: str) -> bool:
    """True for a CJK unified ideograph (the characters pinyin matching applies to)."""
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def has_cjk(text: str) -> bool:
    """True when the text contains at least one CJK ideograph."""
    return _CJK.search(text) is not None


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# Hesitation sounds ASR writes between words: dropped, so "thank you, um, for calling" is
# "thank you for calling" and 嗯，我同意 is 我同意. Only pure fillers: 那个 and "like" are words.
_ZH_FILLERS = frozenset("嗯呃")
_EN_FILLERS = re.compile(r"\b(?:u+m+|u+h+m*|e+r+m*|h+m+|m{2,})\b ?")


class _PunctuationTable(dict[int, str | None]):
    """``str.translate`` table: punctuation, symbols, separators and controls → space, the
    apostrophe → nothing ("customer's" → "customers": a possessive never splits a word), the
    Chinese hesitation sounds 嗯 呃 → space. Each character is classified once, on first sight."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        if char == "'":
            value = None
        elif char in _ZH_FILLERS or unicodedata.category(char)[0] in "PSZC":
            value = " "
        else:
            value = char
        self[code] = value
        return value


_PUNCTUATION = _PunctuationTable()
_ASCII_PUNCTUATION = str.maketrans({chr(code): _PUNCTUATION[code] for code in range(128)})


_EN_NUMBER_WORDS = frozenset([*_EN_UNITS, *_EN_TEENS, *_EN_TENS])
_OTHER_APOSTROPHES = tuple(char for char in "’‘`´")
_LATIN_LETTER = re.compile("[a-z]")


def _english_numbers(text: str) -> str:
    words = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _EN_TENS:
            value = _EN_TENS[word]
            if i + 1 < len(words) and words[i + 1] in _EN_UNITS and words[i + 1] != "zero":
                value += _EN_UNITS[words[i + 1]]
                i += 1
            out.append(str(value))
        elif word in _EN_TEENS:
            out.append(str(_EN_TEENS[word]))
        elif word in _EN_UNITS:
            out.append(str(_EN_UNITS[word]))
        else:
            out.append(word)
        i += 1
    return " ".join(out)


def _chinese_digits(text: str) -> str:
    return _ZH_DIGIT_RUN.sub(lambda m: "".join(_ZH_DIGITS[c] for c in m.group()), text)


@lru_cache(maxsize=32768)
def normalize_text(text: str) -> str:
    """Normalise text for phrase matching; phrases and transcripts both go through this.

    Lowercase; full-width → half-width (NFKC); Traditional → Simplified Chinese (OpenCC t2s);
    English contractions expanded; punctuation and symbols (ASCII and CJK) removed; hesitation
    fillers removed (um, uh, er, hmm; 嗯, 呃); English
    number words and runs of Chinese digits (一二三一五, 幺) written as digits, and digits
    separated only by spaces joined ("1 2 3" → "123"); whitespace collapsed, and dropped
    between Chinese characters.

    >>> normalize_text("我要投訴，打一二三一五！")
    '我要投诉打12315'
    >>> normalize_text("I've updated it: Twelve Oak St.")
    'i have updated it 12 oak st'
    """
    return _normalize(text)


def _normalize(text: str) -> str:
    # Each step runs only when the text can need it: turns are normalised once per call, and
    # throughput on stored transcripts depends on this being cheap.
    ascii_only = text.isascii()
    if not ascii_only:
        text = unicodedata.normalize("NFKC", text)
    cjk = not ascii_only and has_cjk(text)
    if cjk:
        text = _t2s().convert(text)
    text = text.lower()
    if "'" in text or (not text.isascii() and any(char in text for char in _OTHER_APOSTROPHES)):
        text = text.translate(_APOSTROPHES)
        if "'" in text:
            text = _CONTRACTION.sub(_expand, text)
    text = " ".join(text.translate(_ASCII_PUNCTUATION if ascii_only else _PUNCTUATION).split())
    if ascii_only or _LATIN_LETTER.search(text):  # fillers and number words are Latin letters
        if _EN_FILLERS.search(text):
            text = _EN_FILLERS.sub("", text).rstrip()
        if not _EN_NUMBER_WORDS.isdisjoint(text.split(" ")):
            text = _english_numbers(text)
    if cjk:
        text = _chinese_digits(text)
    if " " in text:
        text = _DIGIT_GAP.sub("", text)
        if cjk:
            text = _CJK_GAP.sub("", text)
    return text


#: The version of :func:`normalize_text`'s output. Bump it with any change that can normalise some
#: text differently: texts stored with their calls by another version are then normalised again
#: instead of trusted (tests/scoring/test_normalized_texts.py pins this file's hash to remind you).
NORMALIZATION = 1


@lru_cache(maxsize=1)
def normalizer_id() -> str:
    """The normalisation in use: its version and the OpenCC release whose tables it applies."""
    return f"{NORMALIZATION}/opencc-{version('opencc')}"


@dataclass(frozen=True)
class NormalizedTexts:
    """A call's turn texts as :func:`normalize_text` wrote them (text as heard → normalised), by
    the normalisation ``normalizer``; made when the call is processed and stored with it."""

    normalizer: str
    texts: dict[str, str]

    def usable(self) -> dict[str, str] | None:
        """The texts, when this normalisation made them (else they must be normalised again)."""
        return self.texts if self.normalizer == normalizer_id() else None

    def to_json(self) -> str:
        return json.dumps({"normalizer": self.normalizer, "texts": self.texts}, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> NormalizedTexts:
        """Read what :meth:`to_json` wrote; ValueError when it is something else."""
        found = json.loads(data)
        if not isinstance(found, dict) or not isinstance(found.get("texts"), dict):
            raise ValueError("not stored normalised texts")
        texts = found["texts"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items()):
            raise ValueError("not stored normalised texts: a text is not a string")
        return cls(str(found.get("normalizer", "")), texts)


def normalize_texts(texts: Iterable[str]) -> NormalizedTexts:
    """Normalise a call's turn texts, to store with the call (see :class:`NormalizedTexts`)."""
    return NormalizedTexts(normalizer_id(), {text: normalize_text(text) for text in texts})
