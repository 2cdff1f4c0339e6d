"""Raised voices: each turn's loudness and pitch against the same speaker's own baseline.

A turn is measured on its speaker's channel (``ch0``/``ch1`` of two-channel audio; the one
channel of a mono recording): loudness is the level of its louder half of frames (dB, RMS over
2048-sample frames), pitch the median fundamental frequency of those frames (librosa's YIN,
70–400 Hz). A speaker's baseline is the median of their turns; a turn is a raised-voice moment
when it is :data:`LOUDER_DB` louder than that, or :data:`LOUDER_WITH_PITCH_DB` louder with its
pitch :data:`PITCH_RATIO` times higher. Speakers with fewer than :data:`MIN_TURNS` measured turns
have no baseline and no moments::

    moments = raised_voices(turns, turn_arousal(audio, turns))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np

from asr.audio import Audio
from calldata import RaisedVoice, Turn

LOUDER_DB = 6.0
LOUDER_WITH_PITCH_DB = 3.0
PITCH_RATIO = 1.2
MIN_TURNS = 2
MIN_SECONDS = 0.4  # shorter turns are not measured
FRAME, HOP = 2048, 512
_CHANNEL = re.compile(r"^ch(\d+)$")


@dataclass(frozen=True)
class TurnArousal:
    index: int
    speaker: str
    loudness_db: float
    pitch_hz: float | None  # None: no voiced frame found


def _channel(audio: Audio, speaker: str) -> np.ndarray:
    found = _CHANNEL.match(speaker)
    number = int(found.group(1)) if found else 0
    return audio.channels[number if number < len(audio.channels) else 0]


def turn_arousal(audio: Audio, turns: Sequence[Turn]) -> list[TurnArousal]:
    """Loudness and pitch of each turn long enough to measure, on its speaker's channel."""
    import librosa  # heavy: loaded when a call is measured, not when the package is imported

    rate = audio.sample_rate
    found = []
    for turn in turns:
        samples = _channel(audio, turn.speaker)[int(turn.start * rate) : int(turn.end * rate)]
        if len(samples) < max(FRAME, MIN_SECONDS * rate):
            continue
        rms = librosa.feature.rms(y=samples, frame_length=FRAME, hop_length=HOP)[0]
        if not rms.size or float(rms.max()) <= 0:
            continue
        loud = rms >= np.median(rms)
        loudness = float(20 * np.log10(np.mean(rms[loud]) + 1e-9))
        f0 = librosa.yin(samples, fmin=70, fmax=400, sr=rate, frame_length=FRAME, hop_length=HOP)
        voiced = f0[: len(loud)][loud[: len(f0)]]
        pitch = float(np.median(voiced)) if voiced.size else None
        found.append(TurnArousal(turn.index, turn.speaker, round(loudness, 2),
                                 round(pitch, 1) if pitch else None))  # fmt: skip
    return found


def raised_voices(turns: Sequence[Turn], measured: Sequence[TurnArousal]) -> list[RaisedVoice]:
    """The raised-voice moments, each against its own speaker's baseline, in time order."""
    by_index = {turn.index: turn for turn in turns}
    moments = []
    for speaker in dict.fromkeys(m.speaker for m in measured):
        own = [m for m in measured if m.speaker == speaker]
        if len(own) < MIN_TURNS:
            continue
        base_loud = median(m.loudness_db for m in own)
        pitches = [m.pitch_hz for m in own if m.pitch_hz]
        base_pitch = median(pitches) if pitches else None
        for m in own:
            louder = m.loudness_db - base_loud
            ratio = m.pitch_hz / base_pitch if m.pitch_hz and base_pitch else None
            higher = ratio is not None and ratio >= PITCH_RATIO
            if louder >= LOUDER_DB or (louder >= LOUDER_WITH_PITCH_DB and higher):
                turn = by_index[m.index]
                moments.append(
                    RaisedVoice(
                        index=m.index, role=turn.role.value, start=turn.start, end=turn.end,
                        louder_db=round(louder, 1), pitch_ratio=round(ratio, 2) if ratio else None,
                    )
                )  # fmt: skip
    return sorted(moments, key=lambda m: m.start)
