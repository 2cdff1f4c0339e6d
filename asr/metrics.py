"""Conversation metrics from speaker turns: talk time, silence, overtalk, interruptions, rate.

Speech is measured from word timings, not from turn boundaries: a turn is split wherever its
words pause for longer than ``pause_split`` seconds, so a long hold inside one Whisper segment
("let me check ... okay") counts as silence. Everything else follows from those intervals::

    metrics = compute_metrics(turns, duration=312.4, silence_threshold=3.0)
    metrics.by_role[Role.AGENT].talk_ratio, metrics.longest_silence
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

from calldata import Metrics, Role, RoleMetrics, Silence, Turn

Interval = tuple[float, float]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[^\W\d_\u3400-\u9fff\uf900-\ufaff]+(?:'[^\W\d_]+)?|\d+", re.UNICODE)


def compute_metrics(
    turns: Sequence[Turn],
    duration: float,
    *,
    silence_threshold: float = 3.0,
    pause_split: float = 1.0,
    min_overlap: float = 0.2,
) -> Metrics:
    """Metrics of one call.

    - talk time per role: the union of that role's speech; talk ratio: its share of all roles'
      talk time; speech rate: words per minute of talk (English), characters per minute
      (Mandarin), both counted in mixed text;
    - interruptions: a turn that starts while another speaker still talks for at least
      ``min_overlap`` seconds, credited to the role that started it;
    - silences: gaps between speech longer than ``silence_threshold`` (not the lead-in before
      the first word or the tail after the last); longest silence: the longest gap of any
      length; non-talk time: the call's duration minus all speech;
    - overtalk: stretches of at least ``min_overlap`` where two speakers talk at once.
    """
    speech_by_turn = [speech_intervals(turn, pause_split) for turn in turns]
    by_speaker: dict[str, list[Interval]] = {}
    by_role_spans: dict[Role, list[Interval]] = {}
    for turn, spans in zip(turns, speech_by_turn, strict=True):
        by_speaker.setdefault(turn.speaker, []).extend(spans)
        by_role_spans.setdefault(turn.role, []).extend(spans)
    everyone = union(span for spans in speech_by_turn for span in spans)
    total_speech = _length(everyone)
    duration = max(duration, everyone[-1][1] if everyone else 0.0)

    talk = {role: _length(union(spans)) for role, spans in by_role_spans.items()}
    talk_sum = sum(talk.values())
    interruptions = _interruptions(turns, speech_by_turn, by_speaker, min_overlap)
    roles = [Role.AGENT, Role.CUSTOMER] + [
        r for r in by_role_spans if r not in (Role.AGENT, Role.CUSTOMER)
    ]
    by_role = {}
    for role in roles:
        role_turns = [t for t in turns if t.role == role]
        role_talk = talk.get(role, 0.0)
        units = sum(speech_units(t.text) for t in role_turns)
        by_role[role] = RoleMetrics(
            talk_time=round(role_talk, 3),
            talk_ratio=round(role_talk / talk_sum, 4) if talk_sum > 0 else 0.0,
            turns=len(role_turns),
            speech_rate=round(units / (role_talk / 60.0), 1) if role_talk > 0 else 0.0,
            interruptions=interruptions.get(role, 0),
        )

    gaps = [(a[1], b[0]) for a, b in pairwise(everyone)]
    silences = tuple(
        Silence(start=round(s, 3), end=round(e, 3)) for s, e in gaps if e - s > silence_threshold
    )
    overlaps = [o for o in overtalk(by_speaker.values()) if o[1] - o[0] >= min_overlap]
    first = min(turns, key=lambda t: (t.start, t.index)) if turns else None
    last = max(turns, key=lambda t: (t.end, t.index)) if turns else None
    return Metrics(
        duration=round(duration, 3),
        by_role=by_role,
        silences=silences,
        longest_silence=round(max((e - s for s, e in gaps), default=0.0), 3),
        non_talk_time=round(max(0.0, duration - total_speech), 3),
        overtalk_count=len(overlaps),
        overtalk_duration=round(_length(overlaps), 3),
        first_speaker=first.role if first else None,
        last_speaker=last.role if last else None,
    )


def speech_intervals(turn: Turn, pause_split: float = 1.0) -> list[Interval]:
    """Where a turn's speaker actually talks: its words grouped across pauses shorter than
    ``pause_split``; the whole turn when it has no word timings."""
    if not turn.words:
        return [(turn.start, turn.end)] if turn.end > turn.start else []
    spans: list[Interval] = []
    for word in sorted(turn.words, key=lambda w: w.start):
        if spans and word.start - spans[-1][1] <= pause_split:
            spans[-1] = (spans[-1][0], max(spans[-1][1], word.end))
        else:
            spans.append((word.start, word.end))
    return [(s, e) for s, e in spans if e > s]


def union(spans: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping cover of ``spans``."""
    merged: list[Interval] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overtalk(per_speaker: Iterable[Sequence[Interval]]) -> list[Interval]:
    """Stretches where two or more speakers talk at once (each speaker's spans are united
    first, so one speaker's own overlapping words never count)."""
    events: list[tuple[float, int]] = []
    for spans in per_speaker:
        for start, end in union(spans):
            events += [(start, 1), (end, -1)]
    events.sort(key=lambda event: (event[0], event[1]))  # ends before starts at one instant
    result: list[Interval] = []
    active = 0
    opened = 0.0
    for time, delta in events:
        before = active
        active += delta
        if before < 2 <= active:
            opened = time
        elif before >= 2 > active and time > opened:
            result.append((opened, time))
    return result


def speech_units(text: str) -> int:
    """Words for Latin-script text plus characters for Chinese: the units of speech rate."""
    return len(_CJK.findall(text)) + len(_LATIN_WORD.findall(text))


def _interruptions(
    turns: Sequence[Turn],
    speech_by_turn: Sequence[list[Interval]],
    by_speaker: dict[str, list[Interval]],
    min_overlap: float,
) -> dict[Role, int]:
    counts: dict[Role, int] = {}
    for turn, spans in zip(turns, speech_by_turn, strict=True):
        if not spans:
            continue
        begin = spans[0][0]
        talked_over = any(
            start < begin and end - begin >= min_overlap
            for speaker, own in by_speaker.items()
            if speaker != turn.speaker
            for start, end in own
        )
        if talked_over:
            counts[turn.role] = counts.get(turn.role, 0) + 1
    return counts


def _length(spans: Iterable[Interval]) -> float:
    return sum(end - start for start, end in spans)
