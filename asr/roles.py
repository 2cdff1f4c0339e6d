"""Turning Whisper segments into speaker turns, and deciding which speaker is the agent.

Two-channel audio: each channel is one party, so a segment's channel is its speaker and the
configured channel map gives its role; the channels' turns are merged by start time, overlapping
speech kept. Mono audio: each word goes to the diarization speaker it overlaps most (the nearest
one if none), and a Whisper segment is split where the speaker changes inside it. Roles then come
from what each speaker says (:func:`assign_roles`, weighing the acts ``asr.role_evidence``
finds), with a confidence only that evidence raises: who speaks first alone stays under the
review threshold (:data:`FIRST_SPEAKER_CONFIDENCE`)::

    turns = diarized_turns(segments, speaker_segments)
    roles = assign_roles(turns, agent_name="Alice Smith", inbound=True)
    turns = apply_roles(turns, roles.mapping)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from asr.role_evidence import collect_evidence, is_cjk
from asr.transcribe import SpeechSegment
from calldata import Role, Turn, Word

__all__ = [
    "FIRST_SPEAKER_CONFIDENCE",
    "RoleAssignment",
    "SpeakerSpan",
    "apply_roles",
    "assign_roles",
    "channel_turns",
    "diarized_turns",
    "role_confidence",
    "speaker_at",
]

#: consecutive speech of one speaker closer than this (seconds) is one turn
MERGE_GAP = 1.0


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
    if is_cjk(left[-1]) or is_cjk(right[0]):
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
    """Decide which diarized speaker is the agent, from what the speakers say.

    Evidence (``asr.role_evidence``): agent acts (greeting for the company, offering help,
    asking for the caller's details, saying it is done, answering thanks, the agent's name from
    queue_log in a self-introduction, the site's ``agent_phrases``) and customer acts (stating a
    need, asking for something for themself, their own account, giving their details when
    asked). The speaker with the most agent evidence net of customer evidence is the agent, the
    others customers (a third speaker with strong agent evidence, e.g. after a transfer, is an
    agent too). Who speaks first (the agent answers an inbound call, the callee an outbound one)
    only breaks a near tie: on its own it gives :data:`FIRST_SPEAKER_CONFIDENCE`, under the
    review threshold, and ``confidence`` grows only with evidence from the words (see
    :func:`role_confidence`).
    """
    speakers = sorted({t.speaker for t in turns}, key=lambda s: _first_start(turns, s))
    if not speakers:
        return RoleAssignment({}, 0.0, ("no speech",))
    evidence = collect_evidence(turns, agent_name=agent_name, agent_phrases=agent_phrases)
    reasons = [f"{speaker}: {why}" for speaker in speakers for why in evidence[speaker].reasons]
    if len(speakers) == 1:
        (alone,) = speakers
        score = evidence[alone].score
        role = Role.AGENT if score >= 2 else Role.UNKNOWN
        confidence = role_confidence(score, 0.0) if role is Role.AGENT else 0.0
        reasons.append("one speaker found: no one to compare with")
        return RoleAssignment({alone: role}, min(confidence, 0.6), tuple(reasons))
    # who opens the call: the agent on an inbound one, the callee on an outbound one
    opener = speakers[0] if inbound else speakers[1]
    prior = {speaker: FIRST_SPEAKER_WEIGHT if speaker == opener else 0.0 for speaker in speakers}
    reasons.append(
        f"{opener}: {'speaks first on an inbound' if inbound else 'answers an outbound'} call "
        f"(+{FIRST_SPEAKER_WEIGHT:g})"
    )
    ranked = sorted(speakers, key=lambda s: -(evidence[s].score + prior[s]))
    agent, runner_up = ranked[0], ranked[1]
    mapping = {agent: Role.AGENT}
    customer = ranked[-1]
    for speaker in ranked[1:]:
        strong = speaker != customer and evidence[speaker].score >= 3
        mapping[speaker] = Role.AGENT if strong else Role.CUSTOMER
    # evidence for this decision (agent acts of the agent, customer acts of the other) and against
    support = evidence[agent].agent + evidence[runner_up].customer + prior[agent]
    against = evidence[runner_up].agent + evidence[agent].customer + prior[runner_up]
    return RoleAssignment(mapping, role_confidence(support, against), tuple(reasons))


#: how much who speaks first weighs: a tie-break, worth less than one act
FIRST_SPEAKER_WEIGHT = 0.4
#: pseudo-evidence on each side: how much evidence it takes to move away from a coin toss
_PRIOR_EVIDENCE = 1.0


def role_confidence(support: float, against: float) -> float:
    """How sure a role decision is, from the evidence for it and against it: 0.5 for nothing
    either way, rising towards 1 as support outweighs what is against it (a smoothed share of
    the evidence, so contradictory evidence keeps it low)."""
    share = (support + _PRIOR_EVIDENCE) / (support + against + 2 * _PRIOR_EVIDENCE)
    return round(max(0.5, share), 3)


#: what the decision rests on when only who spoke first is known: under the review threshold
FIRST_SPEAKER_CONFIDENCE = role_confidence(FIRST_SPEAKER_WEIGHT, 0.0)


def _first_start(turns: Sequence[Turn], speaker: str) -> float:
    return min(t.start for t in turns if t.speaker == speaker)
