"""Raised voices (asr/arousal.py): a turn louder and higher than its own speaker's other turns
is a moment; the same level throughout, or a speaker who is simply louder than the other, is
not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asr.arousal import raised_voices, turn_arousal
from asr.audio import Audio
from calldata import Role, Turn

RATE = 16_000


def _voice(seconds: float, pitch: float, level: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in (1, 2, 3))  # a voiced, buzzy tone
    return (level * wave / 1.8).astype(np.float32)


def _call(customer: list[tuple[float, float]], agent_level: float = 0.05):
    """Stereo: ch0 the customer's turns (pitch, level), ch1 the agent's between them."""
    ch0, ch1, turns, at = [], [], [], 0.0
    for i, (pitch, level) in enumerate(customer):
        ch1.append(_voice(2.0, 120, agent_level))
        ch0.append(np.zeros(2 * RATE, np.float32))
        turns.append(Turn(index=2 * i, speaker="ch1", role=Role.AGENT, start=at, end=at + 2.0,
                          text="agent", confidence=0.9))  # fmt: skip
        at += 2.0
        ch0.append(_voice(2.0, pitch, level))
        ch1.append(np.zeros(2 * RATE, np.float32))
        turns.append(Turn(index=2 * i + 1, speaker="ch0", role=Role.CUSTOMER, start=at,
                          end=at + 2.0, text="customer", confidence=0.9))  # fmt: skip
        at += 2.0
    audio = Audio((np.concatenate(ch0), np.concatenate(ch1)), RATE, (Path("call.wav"),))
    return audio, turns


def test_a_customer_who_raises_their_voice_is_found_on_their_own_channel():
    audio, turns = _call([(150, 0.05), (150, 0.05), (230, 0.3), (150, 0.05)])
    measured = {m.index: m for m in turn_arousal(audio, turns)}
    assert len(measured) == 8
    assert abs(measured[3].pitch_hz - 150) < 10 and abs(measured[5].pitch_hz - 230) < 15
    (moment,) = raised_voices(turns, list(measured.values()))
    assert moment.index == 5 and moment.role == "customer" and moment.start == 10.0
    assert moment.louder_db > 10 and moment.pitch_ratio > 1.4


def test_a_steady_or_simply_louder_speaker_raises_nothing():
    audio, turns = _call([(150, 0.3)] * 4, agent_level=0.02)  # loud, but loud throughout
    assert raised_voices(turns, turn_arousal(audio, turns)) == []
