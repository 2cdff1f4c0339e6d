"""Text normalisation shared by every phrase matcher.

ASR output and rubric phrases go through the same :func:`normalize_text`, so a phrase matches
whatever way Whisper happened to write it: case, punctuation (ASCII and CJK), full-width forms,
Traditional characters, English contractions and numbers spoken as words or written as digits.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})

# Contractions are expanded so that "I've updated" matches the phrase "I have updated". A bare
# "'s" is only expanded after pronouns where it can only mean "is" (never a possessive).
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bwon't\b", "will not"),
        (r"\bcan't\b", "can not"),
        (r"\bshan't\b", "shall not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\b(\w+)'re\b", r"\1 are"),
        (r"\b(\w+)'ve\b", r"\1 have"),
        (r"\b(\w+)'ll\b", r"\1 will"),
        (r"\bi'm\b", "i am"),
        (r"\b(it|that|what|there|here|he|she|who|where|how|let)'s\b", r"\1 is"),
    )
)

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
_SPACES = re.compile(r"\s+")


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


def _strip_punctuation(text: str) -> str:
    out = []
    for char in text:
        if char == "'":
            continue  # "customer's" → "customers": a possessive never splits a word
        category = unicodedata.category(char)
        out.append(" " if category[0] in "PSZC" else char)
    return "".join(out)


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
    English contractions expanded; punctuation and symbols (ASCII and CJK) removed; English
    number words and runs of Chinese digits (一二三一五, 幺) written as digits, and digits
    separated only by spaces joined ("1 2 3" → "123"); whitespace collapsed, and dropped
    between Chinese characters.

    >>> normalize_text("我要投訴，打一二三一五！")
    '我要投诉打12315'
    >>> normalize_text("I've updated it: Twelve Oak St.")
    'i have updated it 12 oak st'
    """
    text = unicodedata.normalize("NFKC", text)
    if has_cjk(text):
        text = _t2s().convert(text)
    text = text.lower().translate(_APOSTROPHES)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = _SPACES.sub(" ", _strip_punctuation(text)).strip()
    text = _english_numbers(text)
    text = _chinese_digits(text)
    text = _DIGIT_GAP.sub("", text)
    return _CJK_GAP.sub("", text)
