"""Turning Whisper segments into speaker turns, and deciding which speaker is the agent.

Two-channel audio: each channel is one party, so a segment's channel is its speaker and the
configured channel map gives its role; the channels' turns are merged by start time, overlapping
speech kept. Mono audio: each word goes to the diarization speaker it overlaps most (the nearest
one if none), and a Whisper segment is split where the speaker changes inside it. Roles then come
from evidence in what each speaker says (:func:`assign_roles`)::

    turns = diarized_turns(segments, speaker_segments)
    roles = assign_roles(turns, agent_name="Alice Smith", inbound=True)
    turns = apply_roles(turns, roles.mapping)
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from asr.transcribe import SpeechSegment
from calldata import Role, Turn, Word

#: consecutive speech of one speaker closer than this (seconds) is one turn
MERGE_GAP = 1.0

# Evidence that a speaker is the agent (weights in _score). Matched on normalised text, fuzzily,
# and Mandarin through pinyin, since ASR errors in Chinese are mostly homophones.
GREETING_PHRASES: tuple[str, ...] = (
    "thank you for calling",
    "thanks for calling",
    "how can i help",
    "how may i help",
    "how can i assist",
    "how may i assist",
    "what can i do for you",
    "welcome to",
    "欢迎致电",
    "欢迎来电",
    "请问有什么可以帮您",
    "有什么可以帮您",
    "很高兴为您服务",
)
AGENT_PHRASES: tuple[str, ...] = (
    "my name is",
    "anything else i can help",
    "for security",
    "verify your",
    "thank you for holding",
    "thank you for waiting",
    "have a nice day",
    "have a great day",
    "rate our service",
    "您好",
    "我是",
    "工号",
    "为您服务",
    "为了您的账户安全",
    "还有其他可以帮您",
    "感谢您的来电",
    "对我的服务进行评价",
)
CUSTOMER_PHRASES: tuple[str, ...] = (
    "i would like to",
    "i'd like to",
    "i want to",
    "i am calling about",
    "i'm calling about",
    "my account",
    "my bill",
    "speak to your manager",
    "make a complaint",
    "我想",
    "我要投诉",
    "你们",
)
# A greeting counts double in a speaker's first turns, where agents say it.
_GREETING_TURNS = 2


class SpeakerSpan(Protocol):
    """A diarization segment (``asr.diarize.SpeakerSegment`` or anything shaped like it)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def speaker(self) -> str: ...


@dataclass(frozen=True)
class RoleAssignment:
    """Which speaker label plays which role, how sure that is (0..1), and why."""

    mapping: dict[str, Role]
    confidence: float
    reasons: tuple[str, ...] = field(default=())


@dataclass
class _Piece:
    """Speech of one speaker being assembled into a turn; ``text`` keeps Whisper's spacing."""

    speaker: str
    start: float
    end: float
    words: list[Word]
    text: str
    confidence: float = 0.0  # used only when there are no words


def channel_turns(
    channels: Sequence[Sequence[SpeechSegment]],
    roles: Sequence[Role],
    *,
    merge_gap: float = MERGE_GAP,
) -> list[Turn]:
    """Turns of two-channel audio: channel ``i``'s segments are speaker ``ch{i}`` in
    ``roles[i]``; merged across channels by start time (overlapping speech kept)."""
    if len(roles) < len(channels):
        raise ValueError(f"{len(channels)} channels but only {len(roles)} channel roles")
    pieces = [
        piece
        for index, segments in enumerate(channels)
        for segment in segments
        for piece in _segment_pieces(segment, f"ch{index}", merge_gap)
    ]
    role_of = {f"ch{index}": Role(role) for index, role in enumerate(roles)}
    return [
        turn.model_copy(update={"role": role_of[turn.speaker]})
        for turn in _to_turns(pieces, merge_gap)
    ]


def diarized_turns(
    segments: Sequence[SpeechSegment],
    speakers: Sequence[SpeakerSpan],
    *,
    merge_gap: float = MERGE_GAP,
) -> list[Turn]:
    """Turns of mono audio, role UNKNOWN: each word goes to the diarization speaker it overlaps
    most (nearest if none); a segment is split where the speaker changes inside it."""
    pieces: list[_Piece] = []
    for segment in segments:
        if not segment.words:
            pieces.append(_segment_piece(segment, speaker_at(segment.start, segment.end, speakers)))
            continue
        labels = _smooth([speaker_at(w.start, w.end, speakers) for w in segment.words])
        current: _Piece | None = None
        for label, word in zip(labels, segment.words, strict=True):
            if (
                current is not None
                and current.speaker == label
                and word.start - current.end <= merge_gap
            ):
                current.words.append(word)
                current.text += word.text
                current.end = max(current.end, word.end)
            else:
                current = _Piece(label, word.start, word.end, [word], word.text)
                pieces.append(current)
    return _to_turns(pieces, merge_gap)


def speaker_at(start: float, end: float, speakers: Sequence[SpeakerSpan]) -> str:
    """The speaker whose segments overlap ``[start, end]`` most; the nearest one if none does;
    ``SPEAKER_00`` when diarization found nobody."""
    if not speakers:
        return "SPEAKER_00"
    overlap: dict[str, float] = {}
    for span in speakers:
        shared = min(end, span.end) - max(start, span.start)
        if shared > 0:
            overlap[span.speaker] = overlap.get(span.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda label: overlap[label])
    middle = (start + end) / 2
    nearest = min(speakers, key=lambda span: max(span.start - middle, middle - span.end, 0.0))
    return nearest.speaker


def _smooth(labels: list[str]) -> list[str]:
    """A single word between two words of one other speaker is boundary jitter, not a turn."""
    smoothed = list(labels)
    for i in range(1, len(labels) - 1):
        if labels[i - 1] == labels[i + 1] != labels[i]:
            smoothed[i] = labels[i - 1]
    return smoothed


def _segment_pieces(segment: SpeechSegment, speaker: str, merge_gap: float) -> list[_Piece]:
    """A channel's segment as pieces split at pauses longer than ``merge_gap``. With the VAD
    filter on, Whisper sees one channel's speech with the other party's turns cut out, so one
    segment can run from the agent's greeting to their next line, across the customer's turn;
    split there, the turns interleave as they were spoken."""
    if not segment.words:
        return [_segment_piece(segment, speaker)]
    runs: list[list[Word]] = [[segment.words[0]]]
    for word in segment.words[1:]:
        if word.start - runs[-1][-1].end > merge_gap:
            runs.append([])
        runs[-1].append(word)
    if len(runs) == 1:
        return [_segment_piece(segment, speaker)]
    return [
        _Piece(speaker, run[0].start, run[-1].end, run, "".join(w.text for w in run))
        for run in runs
    ]


def _segment_piece(segment: SpeechSegment, speaker: str) -> _Piece:
    text = "".join(w.text for w in segment.words) or segment.text
    confidence = min(1.0, max(0.0, math.exp(segment.avg_logprob)))
    return _Piece(speaker, segment.start, segment.end, list(segment.words), text, confidence)


def _to_turns(pieces: list[_Piece], merge_gap: float) -> list[Turn]:
    """Merge a speaker's consecutive pieces into one turn when the gap is short and nobody
    else started talking in it; index the turns in time order."""
    pieces = sorted(pieces, key=lambda p: (p.start, p.end))
    merged: list[_Piece] = []
    last_of: dict[str, _Piece] = {}
    for piece in pieces:
        previous = last_of.get(piece.speaker)
        if (
            previous is not None
            and piece.start - previous.end <= merge_gap
            and not any(
                other.speaker != piece.speaker and previous.end <= other.start <= piece.start
                for other in merged
            )
        ):
            previous.words.extend(piece.words)
            previous.end = max(previous.end, piece.end)
            previous.text = _join(previous.text.strip(), piece.text.strip())
            continue
        copy = _Piece(
            piece.speaker, piece.start, piece.end, list(piece.words), piece.text, piece.confidence
        )
        merged.append(copy)
        last_of[piece.speaker] = copy
    turns = []
    for index, piece in enumerate(sorted(merged, key=lambda p: (p.start, p.end))):
        text = " ".join(piece.text.split())
        if not text:
            continue
        words = tuple(w.model_copy(update={"text": w.text.strip()}) for w in piece.words)
        confidence = sum(w.probability for w in words) / len(words) if words else piece.confidence
        turns.append(
            Turn(
                index=index,
                speaker=piece.speaker,
                role=Role.UNKNOWN,
                start=round(piece.start, 3),
                end=round(piece.end, 3),
                text=text,
                confidence=min(1.0, max(0.0, confidence)),
                words=words,
            )
        )
    return [turn.model_copy(update={"index": i}) for i, turn in enumerate(turns)]


def _join(left: str, right: str) -> str:
    if not left or not right:
        return left or right
    if _is_cjk(left[-1]) or _is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


def apply_roles(turns: Iterable[Turn], mapping: Mapping[str, Role]) -> list[Turn]:
    """The turns with each speaker's role from ``mapping`` (UNKNOWN if unmapped)."""
    return [t.model_copy(update={"role": mapping.get(t.speaker, Role.UNKNOWN)}) for t in turns]


def assign_roles(
    turns: Sequence[Turn],
    *,
    agent_name: str | None = None,
    inbound: bool = True,
    agent_phrases: Sequence[str] = (),
) -> RoleAssignment:
    """Decide which diarized speaker is the agent, from evidence in the turns.

    Evidence for the agent: greeting and company phrases (double weight in a speaker's first
    turns), the agent's name (from queue_log) in a self-introduction, and speaking first on an
    inbound call. Customer phrases count against. The best-scoring speaker is the agent, the
    others customers (a third speaker with strong agent evidence, e.g. after a transfer, is an
    agent too). ``confidence`` is 0.5 for a coin toss and grows with the score margin, shrunk
    when both speakers show agent evidence.
    """
    speakers = sorted({t.speaker for t in turns}, key=lambda s: _first_start(turns, s))
    if not speakers:
        return RoleAssignment({}, 0.0, ("no speech",))
    scores: dict[str, float] = {}
    reasons: list[str] = []
    first = speakers[0]
    for speaker in speakers:
        own = [t for t in turns if t.speaker == speaker]
        score, why = _score(own, agent_name, tuple(agent_phrases))
        if speaker == first and len(speakers) > 1:
            bonus = 1.0 if inbound else -0.5
            score += bonus
            why.append(f"speaks first on an {'inbound' if inbound else 'outbound'} call")
        scores[speaker] = score
        reasons.extend(f"{speaker}: {reason}" for reason in why)
    ranked = sorted(speakers, key=lambda s: -scores[s])
    agent = ranked[0]
    if len(speakers) == 1:
        role = Role.AGENT if scores[agent] >= 2 else Role.UNKNOWN
        confidence = _confidence(scores[agent], 0.0) if role is Role.AGENT else 0.0
        reasons.append("one speaker found: no one to compare with")
        return RoleAssignment({agent: role}, min(confidence, 0.6), tuple(reasons))
    mapping = {agent: Role.AGENT}
    customer = ranked[-1]
    for speaker in ranked[1:]:
        strong = speaker != customer and scores[speaker] >= 3
        mapping[speaker] = Role.AGENT if strong else Role.CUSTOMER
    confidence = _confidence(scores[agent], scores[ranked[1]])
    return RoleAssignment(mapping, confidence, tuple(reasons))


def _confidence(best: float, second: float) -> float:
    margin = best - second
    if margin <= 0:
        return 0.5
    certainty = 1.0 - math.exp(-margin / 2.0)
    # contradictory evidence: both speakers look like agents
    if second > 0:
        certainty *= margin / (abs(best) + abs(second))
    return round(0.5 + 0.5 * certainty, 3)


def _score(
    own: Sequence[Turn], agent_name: str | None, extra: tuple[str, ...]
) -> tuple[float, list[str]]:
    score = 0.0
    why: list[str] = []
    opening = " ".join(t.text for t in own[:_GREETING_TURNS])
    everything = " ".join(t.text for t in own)
    for phrase in GREETING_PHRASES:
        if phrase_in(phrase, opening):
            score += 2.0
            why.append(f"greets: {phrase!r} (+2)")
        elif phrase_in(phrase, everything):
            score += 1.0
            why.append(f"says {phrase!r} (+1)")
    for phrase in AGENT_PHRASES + extra:
        if phrase_in(phrase, everything):
            score += 1.0
            why.append(f"says {phrase!r} (+1)")
    for phrase in CUSTOMER_PHRASES:
        if phrase_in(phrase, everything):
            score -= 1.0
            why.append(f"says customer phrase {phrase!r} (-1)")
    if agent_name and _introduces(agent_name, everything):
        score += 3.0
        why.append(f"introduces themself as {agent_name!r} (+3)")
    return score, why


def _introduces(agent_name: str, text: str) -> bool:
    """The speaker says the agent's (first or full) name as a self-introduction."""
    names = {agent_name.strip(), agent_name.split()[0]} if agent_name.strip() else set()
    norm = normalise(text)
    for name in filter(None, names):
        n = re.escape(normalise(name))
        patterns = (
            rf"(my name is|this is|i am|i'm|im) {n}\b",
            rf"\b{n} (speaking|here)\b",
            rf"我(是|叫){n}",
            rf"{n}为您服务",
        )
        if any(re.search(pattern, norm) for pattern in patterns):
            return True
        if _has_cjk(name) and _pinyin(f"我是{name}") in _pinyin(text):
            return True
    return False


def phrase_in(phrase: str, text: str, *, threshold: float = 90.0) -> bool:
    """Whether ``phrase`` occurs in ``text``: exactly, or fuzzily for longer phrases (ASR
    misspellings), comparing Mandarin by toneless pinyin (ASR errors there are homophones)."""
    p, t = normalise(phrase), normalise(text)
    if not p or not t:
        return False
    if p in t:
        return True
    if _has_cjk(p):
        py_p, py_t = _pinyin(phrase), _pinyin(text)
        return bool(py_p) and py_p in py_t
    if len(p) < 8:
        return False
    return fuzz.partial_ratio(p, t) >= threshold


_PUNCT = re.compile(r"[^\w\s']+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, punctuation gone, single spaces, no spaces next to CJK characters."""
    text = _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower())
    text = " ".join(text.split())
    return re.sub(r"(?<=[\u3400-\u9fff]) | (?=[\u3400-\u9fff])", "", text)


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin("".join(ch for ch in text if _is_cjk(ch))))


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _has_cjk(text: str) -> bool:
    return any(_is_cjk(ch) for ch in text)


def _first_start(turns: Sequence[Turn], speaker: str) -> float:
    return min(t.start for t in turns if t.speaker == speaker)
