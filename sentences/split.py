"""Cutting a turn into the pieces the encoder sees: sentences, and clauses of long sentences.

A turn often says several things ("Okay. I've issued the refund, anything else?"); encoded
whole, each meaning is diluted by the others. So a turn is cut at sentence ends, a long
sentence at its commas, and a long stretch with no punctuation at all (ASR sometimes writes
none) into overlapping windows of words or characters. Spans are character offsets into the
turn text, so evidence can quote exactly the piece that matched.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? ; … (ASCII ones only before a space or the end: "4.99" and "e.g."
# inside a word stay whole), at a CJK end mark, anywhere, or at a space between two Chinese
# characters (Whisper often marks a pause in Mandarin with a space instead of punctuation).
_SENTENCE_END = re.compile(
    r"[.!?;…]+[\"')\]]*(?=\s|$)|[。！？；]+[”’」』）]*"
    r"|(?<=[\u3400-\u4dbf\u4e00-\u9fff])\s+(?=[\u3400-\u4dbf\u4e00-\u9fff])"
)
# A clause ends at a comma that is not inside a number ("1,000").
_CLAUSE_END = re.compile(r"(?<!\d),|,(?!\d)|[，、]")
_WORD = re.compile(r"\S+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

LONG_WORDS, LONG_CHARS = 10, 14  # a sentence longer than this is cut at its commas
WINDOW_WORDS, WINDOW_CHARS = 14, 20  # stretches longer than twice this are windowed


def _pieces(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    spans, begin = [], start
    for mark in pattern.finditer(text, start, end):
        spans.append((begin, mark.end()))
        begin = mark.end()
    spans.append((begin, end))
    return [span for span in (_trim(text, *s) for s in spans) if span is not None]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and not text[start].isalnum() and not _CJK.match(text[start]):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _size(text: str, start: int, end: int) -> tuple[int, bool]:
    """Length in CJK characters (Chinese) or words, and whether it is Chinese."""
    piece = text[start:end]
    chinese = len(_CJK.findall(piece))
    if chinese >= len(piece.split()):
        return chinese, True
    return len(piece.split()), False


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Overlapping windows (half a window apart) over a stretch with no punctuation."""
    size, chinese = _size(text, start, end)
    width = WINDOW_CHARS if chinese else WINDOW_WORDS
    if size <= 2 * width:
        return [(start, end)]
    if chinese:
        marks = [(m.start(), m.end()) for m in _CJK.finditer(text, start, end)]
    else:
        marks = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    step = width // 2
    spans = []
    for first in range(0, len(marks), step):
        last = min(first + width, len(marks)) - 1
        spans.append((marks[first][0], marks[last][1]))
        if last == len(marks) - 1:
            break
    return spans


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The character spans of the pieces of ``text`` to encode, in order.

    >>> text = "Okay. I have issued the refund, you will see it in 3 to 5 business days."
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['Okay.', 'I have issued the refund,', 'you will see it in 3 to 5 business days.']
    """
    spans: list[tuple[int, int]] = []
    for start, end in _pieces(text, 0, len(text), _SENTENCE_END):
        size, chinese = _size(text, start, end)
        clauses = (
            _pieces(text, start, end, _CLAUSE_END)
            if size > (LONG_CHARS if chinese else LONG_WORDS)
            else [(start, end)]
        )
        for clause in clauses:
            spans.extend(_windows(text, *clause))
    return spans
