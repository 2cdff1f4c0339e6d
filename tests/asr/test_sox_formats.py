"""Every Asterisk format decodes as sox and Asterisk write it: GSM in WAV (``WAV``/``wav49``,
with the pad byte after an odd number of 65-byte blocks), raw GSM, mu-law, A-law, signed linear
at 8 and 16 kHz, PCM WAV at 8 and 16 kHz, and the mp3 sites convert to. A copy cut short
mid-frame decodes to the audio it holds (the run then judges its length against the CDR)."""

from __future__ import annotations

import numpy as np
import pytest
from pbx_store import SOX_FORMATS, tone, write_with_sox

from asr.audio import load_audio

SECONDS = 0.52  # 26 GSM frames: 13 blocks of 65 bytes, an odd data chunk that gets a pad byte


@pytest.mark.parametrize("extension", sorted(SOX_FORMATS))
def test_each_asterisk_format_written_by_sox_decodes_to_its_audio(tmp_path, extension):
    rate = 16000 if extension in ("wav16", "sln16") else 8000
    path = write_with_sox(
        tmp_path / f"q-600-555-20261120-091505-1.1.{extension}", tone(SECONDS, rate), rate
    )
    audio = load_audio(path)
    # mp3 adds the encoder delay and pads its last frame (576 samples a frame at 8 kHz)
    slack = 0.25 if extension == "mp3" else 0.03
    assert audio.duration == pytest.approx(SECONDS, abs=slack)
    loudness = float(np.sqrt(np.mean(audio.channels[0] ** 2)))
    assert loudness > 0.05, f".{extension} decoded to silence"


def test_gsm_in_wav_with_the_pad_byte_after_an_odd_block_count_decodes(tmp_path):
    path = write_with_sox(tmp_path / "call.WAV", tone(SECONDS))
    assert (path.stat().st_size - 60) % 65 == 1  # sox's (and Asterisk's) pad byte is there
    assert load_audio(path).duration == pytest.approx(SECONDS, abs=0.03)


def test_a_raw_gsm_copy_cut_mid_frame_decodes_to_what_it_holds(tmp_path):
    path = write_with_sox(tmp_path / "call.gsm", tone(2.0))
    path.write_bytes(path.read_bytes()[:1000])  # 30 frames of 33 bytes, and 10 bytes of one
    assert load_audio(path).duration == pytest.approx(0.6, abs=0.03)
