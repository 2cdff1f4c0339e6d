"""Scoring a call's transcript against its script: what was said, and by whom.

The sample store's calls are scripted (``samples/calls.yaml``: each line a role and a text). The
transcript's words, each carrying the role of the turn it is in, are aligned to the script's
words by minimum edit distance; a script line's role is judged right when most of the words
aligned to it carry the line's role (the words heard exactly, or if none, the substituted ones)::

    score = score_dialogue(lines, transcript)
    score.errors / score.tokens, score.lines_right, score.lines_heard
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from calldata import Transcript
from qa.bench.text import align, edit_distance, tokens


@dataclass(frozen=True)
class ScriptLine:
    """One line of a call's script."""

    role: str  # agent | customer
    text: str


@dataclass(frozen=True)
class DialogueScore:
    """How a transcript matches its script."""

    errors: int  # word (English) or character (Mandarin) edits
    tokens: int  # reference words or characters
    lines: int
    lines_heard: int  # lines with at least one aligned word
    lines_right: int  # heard lines whose words mostly carry the line's role
    words_matched: int  # transcript words aligned to the same script word
    words_role_right: int  # ... of those, in a turn of the right role
    wrong_lines: tuple[str, ...] = ()  # "role: text (heard as other role)"


def load_scripts(calls_yaml: Path) -> dict[str, list[ScriptLine]]:
    """``{call key: script lines}`` from ``samples/calls.yaml``."""
    data = yaml.safe_load(calls_yaml.read_text(encoding="utf-8"))
    return {
        call["key"]: [ScriptLine(str(role), str(text)) for role, text in call["lines"]]
        for call in data["calls"]
    }


def score_dialogue(
    lines: Sequence[ScriptLine], transcript: Transcript, language: str, *, by_speaker: bool = False
) -> DialogueScore:
    """Compare ``transcript`` (turns in time order) with the script ``lines``.

    ``by_speaker``: judge the turns' speaker labels instead of their roles, each label first
    mapped to the script speaker it shares most exactly heard words with (a reference with
    speaker names, like pyannote's ``sample.stm``)."""
    ref: list[str] = []
    ref_line: list[int] = []
    for index, line in enumerate(lines):
        words = tokens(line.text, language)
        ref.extend(words)
        ref_line.extend([index] * len(words))
    hyp: list[str] = []
    hyp_role: list[str] = []
    for turn in sorted(transcript.turns, key=lambda t: (t.start, t.end)):
        words = tokens(turn.text, language)
        hyp.extend(words)
        hyp_role.extend([turn.speaker if by_speaker else turn.role.value] * len(words))
    pairs = align(ref, hyp)
    if by_speaker:
        mapping = _speaker_mapping(
            (hyp_role[h], lines[ref_line[r]].role)
            for r, h in pairs
            if r is not None and h is not None and ref[r] == hyp[h]
        )
        hyp_role = [mapping.get(label, label) for label in hyp_role]
    # per line: roles of the words aligned to it, exact matches apart (they decide when any)
    exact: dict[int, Counter[str]] = {}
    heard: dict[int, Counter[str]] = {}
    matched = role_right = 0
    for r, h in pairs:
        if r is None or h is None:
            continue
        heard.setdefault(ref_line[r], Counter())[hyp_role[h]] += 1
        if ref[r] == hyp[h]:
            exact.setdefault(ref_line[r], Counter())[hyp_role[h]] += 1
            matched += 1
            role_right += hyp_role[h] == lines[ref_line[r]].role
    right = 0
    wrong = []
    for index, line in enumerate(lines):
        roles = exact.get(index) or heard.get(index)
        if not roles:
            continue
        role = roles.most_common(1)[0][0]
        if role == line.role:
            right += 1
        else:
            wrong.append(f"{line.role}: {line.text} (heard as {role})")
    return DialogueScore(
        errors=edit_distance(ref, hyp),
        tokens=len(ref),
        lines=len(lines),
        lines_heard=len(heard),
        lines_right=right,
        words_matched=matched,
        words_role_right=role_right,
        wrong_lines=tuple(wrong),
    )


def _speaker_mapping(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Transcript speaker → script speaker, greedily by the most words they share."""
    mapping: dict[str, str] = {}
    for (label, speaker), _ in Counter(pairs).most_common():
        if label not in mapping and speaker not in mapping.values():
            mapping[label] = speaker
    return mapping


def count_names(names: Sequence[str], text: str) -> int:
    """How often any of ``names`` (company, product) occurs in ``text``, ignoring case, spaces
    and punctuation."""
    flat = _flat(text)
    return sum(flat.count(_flat(name)) for name in names if _flat(name))


def _flat(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())
