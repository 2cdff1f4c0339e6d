"""Personal data in call text: ID-card, bank-card and phone numbers masked to their last digits,
dates of birth masked whole.

Reviewers and supervisors see transcripts, evidence, reasons and comments through
:func:`mask_personal_data`; auditors and admins see them as transcribed (qa.access.permissions,
``see_personal_data``)::

    mask_personal_data("call me at 415 555 0134")   # 'call me at [phone ···0134]'
"""

from __future__ import annotations

import re

__all__ = ["mask_number", "mask_personal_data", "mask_reviewer_text"]

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_DIGIT = (
    r"(?:[0-9０-９]|[零〇一幺二两三四五六七八九]"
    rf"|\b(?:double|triple)\s+(?:{_WORD}\b|[0-9])|\b{_WORD}\b)"
)
# Digits, digit words or both, with the separators people and ASR put between them.
_DIGIT_RUN = re.compile(rf"(?:[+(（]\s*)?{_DIGIT}(?:[\s\-–.,、，()（）/]*{_DIGIT})*", re.IGNORECASE)
_ID_WITH_X = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[Xx](?![0-9A-Za-z])")


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[0-3]?[0-9](?:st|nd|rd|th)?)"
_SPOKEN_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundred|thousand|oh|first|second|third|fourth|fifth|sixth|seventh|eighth"
    r"|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth"
    r"|eighteenth|nineteenth|twentieth|thirtieth)"
)
# A year a living caller can have been born in (a trial end date of 2027 stays readable).
_BIRTH_YEAR = (
    r"(?:19[0-9]{2}|20[01][0-9]|nineteen[\s-]+"
    + _SPOKEN_NUMBER
    + r"(?:[\s-]+"
    + _SPOKEN_NUMBER
    + r")?)"
)
_CN_NUMERAL = r"[0-9０-９零〇一二两三四五六七八九十]"
_CN_DATE = rf"(?:{_CN_NUMERAL}{{2,4}}年)?{_CN_NUMERAL}{{1,2}}月{_CN_NUMERAL}{{1,3}}[日号號]"
_EN_MONTH_DAY = (
    rf"(?:{_DAY}|(?:the\s+)?{_SPOKEN_NUMBER}(?:[\s-]+{_SPOKEN_NUMBER})?)\s+(?:of\s+)?{_MONTH}"
    rf"|{_MONTH}\s+(?:the\s+)?(?:{_DAY}|{_SPOKEN_NUMBER}(?:[\s-]+{_SPOKEN_NUMBER})?)"
)
_DATES_WITH_BIRTH_YEAR = re.compile(
    rf"\b(?:{_EN_MONTH_DAY}),?\s+{_BIRTH_YEAR}\b"  # 12 March 1985, March the twelfth, 1985
    r"|\b[0-3]?[0-9][/.\-][0-3]?[0-9][/.\-](?:19[0-9]{2}|20[01][0-9])\b"  # 03/12/1985
    r"|\b(?:19[0-9]{2}|20[01][0-9])[/.\-][01]?[0-9][/.\-][0-3]?[0-9]\b"  # 1985-03-12
    rf"|(?<!{_CN_NUMERAL})(?:(?:19|一九){_CN_NUMERAL}{{2}}|(?:20|二[零〇])[0-1零〇一]{_CN_NUMERAL}"
    rf"|{_CN_NUMERAL}{{2}})年{_CN_NUMERAL}{{1,2}}月{_CN_NUMERAL}{{1,3}}[日号號]",  # 1985年3月12日
    re.IGNORECASE,
)
# Any day and month (no year needed) right after words that say it is a birth date.
_BIRTH_CUE = (
    r"(?:date\s+of\s+birth|birth\s*date|birthday|\bdob\b|\bborn\b"
    r"|出生日期|出生年月日?|出生于?|生日)"
)
_DATE_AFTER_CUE = re.compile(
    rf"({_BIRTH_CUE}[^.?!。？！\d]{{0,24}}?)"
    rf"((?:{_EN_MONTH_DAY}|{_CN_DATE}|[0-3]?[0-9][/.\-][0-3]?[0-9])"
    rf"(?:,?\s+{_BIRTH_YEAR})?)",
    re.IGNORECASE,
)
BIRTH_DATE_MASK = "[date of birth]"


def _mask_dates_of_birth(text: str) -> str:
    text = _DATES_WITH_BIRTH_YEAR.sub(BIRTH_DATE_MASK, text)
    return _DATE_AFTER_CUE.sub(lambda m: m.group(1) + BIRTH_DATE_MASK, text)


def _digits(run: str) -> str:
    out = []
    for token in re.finditer(rf"(double|triple)\s+({_WORD}|[0-9])|{_WORD}|\S", run, re.I):
        if token.group(1):
            digit = _DIGIT_WORDS.get(token.group(2).lower(), token.group(2))
            out.append(digit * (2 if token.group(1).lower() == "double" else 3))
            continue
        text = token.group(0)
        if text.isdigit():
            out.append(str(int(text)))  # full-width digits too
        elif text.lower() in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[text.lower()])
    return "".join(out)


def _kind(digits: str) -> str | None:
    n = len(digits)
    if n in (13, 15) and digits.lstrip("0").startswith("861"):  # +86 / 0086 and a mobile
        return "phone"
    if n == 18 and digits[6:8] in ("19", "20"):
        return "ID"
    if 13 <= n <= 19:
        return "card"
    if 10 <= n <= 12:
        return "phone"
    return "number" if n > 19 else None


def _mask_run(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    kind = _kind(digits)
    return match.group(0) if kind is None else f"[{kind} ···{digits[-4:]}]"


def mask_personal_data(text: str) -> str:
    """``text`` with ID-card, bank-card and phone numbers masked to their last four digits.

    Numbers count whether written as digits or spoken as digit words (English ``five five
    five``, ``double two``; Mandarin 一…九, 幺, 两, 零), with spaces, dashes, dots or commas
    between them. A run of 18 digits with a plausible birth year (or 17 digits and X) is an ID
    card, 13-19 digits a bank card, 10-12 digits a phone number (NANP 10 digits, Chinese mobile
    1[3-9] + 9 digits, with country code or a 0 area code), longer runs any number. Shorter
    numbers (amounts, dates, extensions) are left alone. Dates of birth become ``[date of
    birth]``: a full date whose year a caller can have been born in (``12 March 1985``,
    ``03/12/1985``, ``1985年3月12日``, ``八五年三月十二号``), and any day and month right after
    birth words (``my birthday is March 12th``, ``出生日期是三月十二号``). Later dates (a trial
    ending in 2027) stay readable::

        mask_personal_data("call me at 415 555 0134")   # 'call me at [phone ···0134]'
    """
    text = _mask_dates_of_birth(text)
    text = _ID_WITH_X.sub(lambda m: f"[ID ···{m.group(0)[-4:]}]", text)
    return _DIGIT_RUN.sub(_mask_run, text)


def mask_number(number: str | None) -> str | None:
    """A caller or destination number masked to its last four digits; extensions (four digits
    or fewer) stay as they are."""
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    return f"···{digits[-4:]}" if len(digits) > 4 else number


# A FreePBX recording name: <type>-<dest>-<from>-YYYYMMDD-HHMMSS-<uniqueid>: dest and from are
# phone numbers (qa.ingest.names). Asterisk's own names may hold a number anywhere before the date.
_RECORDING_NAME = re.compile(
    r"(?P<kind>[A-Za-z]+)-(?P<dest>[^-/\s'\"]+)-(?P<source>[^-/\s'\"]+)"
    r"-(?P<stamp>\d{8}-\d{6})(?P<rest>[^\s'\"]*)"
)


# A uniqueid (<epoch>.<seq>): the call's id, not a personal number; kept readable.
_UNIQUEID = re.compile(r"(?<![\d.])1\d{9}\.\d+(?![\d.])")
_KEPT = re.compile(f"{_RECORDING_NAME.pattern}|{_UNIQUEID.pattern}")


def _mask_name(match: re.Match[str]) -> str:
    if match["kind"] is None:  # a uniqueid
        return match.group(0)
    dest, source = mask_number(match["dest"]), mask_number(match["source"])
    return f"{match['kind']}-{dest}-{source}-{match['stamp']}{match['rest']}"


def mask_reviewer_text(text: str) -> str:
    """Any message a reviewer may see (a failed call's error, a "no audio" note) with personal
    numbers masked, recording paths included: the caller and destination fields of a recording
    name are masked to their last digits (the name stays readable: type, date, time, uniqueid),
    and the rest of the text goes through :func:`mask_personal_data`::

        mask_reviewer_text("recording 2026/01/15/q-600-5551234567-20240115-143015-1.1.wav gone")
        # 'recording 2026/01/15/q-600-···4567-20240115-143015-1.1.wav gone'
    """
    pieces, end = [], 0
    for match in _KEPT.finditer(text):
        pieces.append(mask_personal_data(text[end : match.start()]))
        pieces.append(_mask_name(match))
        end = match.end()
    pieces.append(mask_personal_data(text[end:]))
    return "".join(pieces)
