"""Raised voices: each turn's loudness and pitch against the same speaker's own baseline.

A turn is measured on its speaker's channel (``ch0``/``ch1`` of two-channel audio; the one
channel of a mono recording): loudness is the level of its louder half of frames (dB, RMS over
2048-sample frames), pitch the median fundamental frequency of those frames (YIN, 70–400 Hz).
A speaker's baseline is the median of their turns; a turn is a raised-voice moment when it is
:data:`LOUDER_DB` louder than that, or :data:`LOUDER_WITH_PITCH_DB` louder with its pitch
:data:`PITCH_RATIO` times higher. Speakers with fewer than :data:`MIN_TURNS` measured turns
have no baseline and no moments.

The RMS and YIN are librosa 0.11's (``feature.rms``, ``yin``: centred frames, zero padding, the
same FFT, trough threshold 0.1 and parabolic interpolation) written out in numpy: importing
librosa (numba, scipy.signal) took about 3 s of every worker's first call, longer than measuring
all its turns. tests/asr/test_arousal.py checks both against librosa on real speech::

    moments = raised_voices(turns, turn_arousal(audio, turns))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
import scipy.fft

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


def _frames(samples: np.ndarray) -> np.ndarray:
    """(FRAME, frames) centred frames every HOP samples, zero-padded at both ends."""
    padded = np.pad(samples, (FRAME // 2, FRAME // 2))
    count = 1 + (len(padded) - FRAME) // HOP
    return np.lib.stride_tricks.as_strided(
        padded,
        shape=(FRAME, count),
        strides=(padded.strides[0], HOP * padded.strides[0]),
        writeable=False,
    )


def rms(samples: np.ndarray) -> np.ndarray:
    """Root mean square of each frame (librosa's ``feature.rms(...)[0]``)."""
    level: np.ndarray = np.sqrt(np.mean(np.square(_frames(samples)), axis=0))
    return level


def yin(samples: np.ndarray, *, fmin: float, fmax: float, rate: int) -> np.ndarray:
    """Fundamental frequency (Hz) of each frame by YIN (librosa's ``yin``, threshold 0.1)."""
    frames = _frames(samples)
    min_period = int(np.floor(rate / fmax))
    max_period = min(int(np.ceil(rate / fmin)), FRAME - 1)
    # difference function d(k) = 2 (ACF(0) - ACF(k)) - sum_{m<k} y(m)^2, the ACF by FFT
    size = scipy.fft.next_fast_len(2 * FRAME - 1, real=True)
    spectrum = scipy.fft.rfft(frames, n=size, axis=0)
    power = spectrum.real**2 + spectrum.imag**2
    acf = scipy.fft.irfft(power, n=size, axis=0)[: max_period + 1]
    energy = np.cumsum(np.square(frames), axis=0)
    energy[0] = 0  # as librosa, whose in-place difference zeroes it first
    difference = np.empty_like(energy)
    difference[0] = 0
    difference[1 : max_period + 1] = 2 * (acf[0:1] - acf[1 : max_period + 1]) - energy[:max_period]
    # cumulative mean normalized difference
    lags = np.arange(1, max_period + 1)[:, np.newaxis]
    mean = np.cumsum(difference[1 : max_period + 1], axis=0) / lags
    denominator = mean[min_period - 1 : max_period]
    cmnd = difference[min_period : max_period + 1] / (
        denominator + np.finfo(denominator.dtype).tiny
    )
    # parabolic shift of each lag's optimum (0 where it would leave [k-1, k+1], and at the ends)
    # (numba's arithmetic in librosa: the float32 neighbours' sum and difference, then float64)
    left, centre, right = cmnd[:-2], cmnd[1:-1], cmnd[2:]
    a = (right + left).astype(np.float64) - 2 * centre.astype(np.float64)
    b = (right - left).astype(np.float64) / 2
    shifts = np.zeros_like(cmnd)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    # the first trough under the threshold, else the global minimum
    trough = np.zeros_like(cmnd, dtype=bool)
    trough[1:-1] = (centre < left) & (centre <= right)
    trough[-1] = cmnd[-1] < cmnd[-2]
    trough[0] = cmnd[0] < cmnd[1]
    under = trough & (cmnd < 0.1)
    period = np.argmax(under, axis=0)
    none = ~under.any(axis=0)
    period[none] = np.argmin(cmnd, axis=0)[none]
    refined = min_period + period + np.take_along_axis(shifts, period[np.newaxis], axis=0)[0]
    f0: np.ndarray = rate / refined
    return f0


def turn_arousal(audio: Audio, turns: Sequence[Turn]) -> list[TurnArousal]:
    """Loudness and pitch of each turn long enough to measure, on its speaker's channel."""
    rate = audio.sample_rate
    found = []
    for turn in turns:
        samples = _channel(audio, turn.speaker)[int(turn.start * rate) : int(turn.end * rate)]
        if len(samples) < max(FRAME, MIN_SECONDS * rate):
            continue
        level = rms(samples)
        if not level.size or float(level.max()) <= 0:
            continue
        loud = level >= np.median(level)
        loudness = float(20 * np.log10(np.mean(level[loud]) + 1e-9))
        f0 = yin(samples, fmin=70, fmax=400, rate=rate)
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
