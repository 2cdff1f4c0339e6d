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


def test_loudness_and_pitch_are_librosas_on_real_speech() -> None:
    """The RMS and YIN written out in numpy (librosa's import took ~3 s of every worker's
    first call) give librosa 0.11's numbers on pyannote's real phone call, wideband and 8 kHz:
    the whole call, one turn, and a half-second stretch."""
    import importlib.util
    import subprocess
    import sys

    import librosa
    import soundfile as sf

    from asr.arousal import FRAME, HOP, rms, yin

    sample = Path(importlib.util.find_spec("pyannote.audio").origin).parent / "sample"
    wideband, rate = sf.read(sample / "sample.wav", dtype="float32")
    narrow = librosa.resample(wideband, orig_sr=rate, target_sr=8000).astype(np.float32)
    for audio, sr in ((wideband, rate), (narrow, 8000)):
        for start, end in ((0.0, 30.0), (3.1, 7.7), (12.0, 12.5)):
            y = audio[int(start * sr) : int(end * sr)]
            expected_rms = librosa.feature.rms(y=y, frame_length=FRAME, hop_length=HOP)[0]
            np.testing.assert_allclose(rms(y), expected_rms, rtol=1e-6, atol=1e-9)
            expected = librosa.yin(y, fmin=70, fmax=400, sr=sr, frame_length=FRAME, hop_length=HOP)
            np.testing.assert_allclose(yin(y, fmin=70, fmax=400, rate=sr), expected, rtol=1e-6)

    code = "import sys, asr.arousal; print('librosa' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert imported.stdout.strip() == "False"
