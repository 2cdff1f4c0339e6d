"""The call's waveform with the evidence moments marked, as one SVG under the player.

The peaks are read from the playable WAV the server wrote for the browser (a few hundred bars,
both channels folded into one), drawn as one path under one seek target the width of the
recording (``data-seek-span``, see :data:`ui.render.SEEK_JS`): clicking the waveform plays from
the time under the pointer. (A rectangle per bar, each its own target, was 26 KB of the 45 KB
the page received per call.) Each piece of evidence of
the scorecard and the flags is a mark at its time, coloured by what it backs (a failed item or a
flag red, a passed item green), with the item in its tooltip; clicking it plays from there.
:data:`ui.render.KEYS_JS` moves the play head line as the audio plays.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import soundfile

from calldata import Flag, Scorecard, Verdict
from ui.render import clock

__all__ = ["Mark", "evidence_marks", "peaks", "waveform_html"]

BARS = 240
_HEIGHT = 48


@dataclass(frozen=True)
class Mark:
    """An evidence moment: where, what it backs, and whether that is bad news."""

    at: float
    label: str
    tone: str  # "fail", "pass" or "na"


def peaks(path: Path, bars: int = BARS) -> np.ndarray:
    """The loudest sample of each of ``bars`` equal slices of the recording, from 0 to 1."""
    data, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = np.abs(data).max(axis=1)
    if mono.size == 0:
        return np.zeros(bars, dtype=np.float32)
    edges = np.linspace(0, mono.size, bars + 1).astype(int)
    out = np.array([mono[a:b].max() if b > a else 0.0 for a, b in itertools.pairwise(edges)])
    top = float(out.max())
    return out / top if top > 0 else out


def evidence_marks(cards: Iterable[Scorecard], flags: Iterable[Flag]) -> list[Mark]:
    """A mark per piece of evidence of the scorecards' items and of the flags."""
    marks = []
    for card in cards:
        for item in card.items:
            tone = {Verdict.FAIL: "fail", Verdict.PASS: "pass"}.get(item.result, "na")
            for e in item.evidence:
                marks.append(Mark(e.start, f"{item.title or item.id}: {item.result.value}", tone))
    for flag in flags:
        for e in flag.evidence:
            marks.append(Mark(e.start, f"flag: {flag.title or flag.id}", "fail"))
    return sorted(marks, key=lambda m: m.at)


def waveform_html(levels: np.ndarray, duration: float, marks: Iterable[Mark]) -> str:
    """The SVG: a bar per level (one path), the whole width clickable, the evidence marks on
    top, and the play head line."""
    if duration <= 0 or levels.size == 0:
        return ""
    width = levels.size
    strokes = "".join(
        f"M{i + 0.4:g} {(_HEIGHT - h) / 2:.1f}v{h:.1f}"
        for i, h in enumerate(np.maximum(levels * _HEIGHT, 1.0))
    )
    bars = (
        f'<path class="qa-wave-bar" d="{strokes}"/><rect class="qa-wave-hit" width="{width}" '
        f'height="{_HEIGHT}" data-seek-span="{duration:.2f}"/>'
    )
    ticks = "".join(
        f'<rect class="qa-wave-mark qa-wave-{m.tone}" x="{m.at / duration * width - 0.6:.1f}" '
        f'y="0" width="1.2" height="{_HEIGHT}" data-seek="{m.at:.2f}">'
        f"<title>{clock(m.at)} {escape(m.label)}</title></rect>"
        for m in marks
        if 0 <= m.at <= duration
    )
    return (
        f'<svg id="qa-waveform" viewBox="0 0 {width} {_HEIGHT}" preserveAspectRatio="none" '
        f'data-duration="{duration:.2f}" role="img" aria-label="waveform; evidence marked">'
        f'{bars}{ticks}<rect id="qa-wave-head" x="0" y="0" width="0.6" height="{_HEIGHT}"/>'
        "</svg>"
    )
