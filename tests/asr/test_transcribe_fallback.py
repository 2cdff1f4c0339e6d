"""Whisper's temperature fallback, as the speech layer bounds it (asr/transcribe.py): a window whose
first decode loops on repeated text is decoded again, deterministically, and its speech is kept;
what a runaway window may cost is limited by one decode per temperature and 224 new tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asr import load_call_audio
from asr.models import default_models_dir
from asr.transcribe import TranscribeOptions, Transcriber


def test_decoding_options_come_from_a_config_dict_with_the_bounded_fallback_by_default():
    options = TranscribeOptions.coerce({"beam_size": 4, "temperatures": (0.0, 0.4)})
    assert (options.beam_size, options.temperatures) == (4, (0.0, 0.4))
    defaults = TranscribeOptions()
    assert defaults.max_new_tokens == 224
    assert defaults.temperatures[0] == 0.0 and len(defaults.temperatures) > 1  # fallback kept
    with pytest.raises(ValueError, match="best_off"):
        TranscribeOptions.coerce({"best_off": 2})


@pytest.fixture(scope="module")
def good_zh_customer(samples_dir: Path):
    # The good-zh customer's channel (four short turns, 17 s of speech in 73 s): its one Whisper
    # window repeats itself at temperature 0 and is decoded again at 0.2.
    expected = json.loads((samples_dir / "expected.json").read_text(encoding="utf-8"))
    call = next(c for c in expected["calls"] if c["key"] == "good-zh")
    paths = [samples_dir / "store" / "monitor" / r for r in call["recordings"]]
    return load_call_audio(paths, sample_rate=16000).channels[0]


@pytest.fixture(scope="module")
def whisper() -> Transcriber:
    return Transcriber(default_models_dir() / "whisper-base", cpu_threads=1)


@pytest.mark.models
def test_a_window_that_loops_at_temperature_zero_is_still_heard(good_zh_customer, whisper):
    result = whisper.transcribe(good_zh_customer, language="zh")

    text = "".join(segment.text for segment in result.segments)
    assert "你好" in text and "再见" in text, text  # the first and the last thing said
    assert result.segments[0].start < 13 and result.segments[-1].end > 68, result.segments
    assert all(s.compression_ratio <= 2.4 for s in result.segments)


@pytest.mark.models
def test_a_recording_falling_back_gets_the_same_transcript_whatever_the_worker_did_before(
    good_zh_customer, whisper
):
    # A worker transcribes many calls with one model; CTranslate2 seeds its sampler once per
    # thread, so a sampled fallback depended on the calls before. The fallback is deterministic.
    first = whisper.transcribe(good_zh_customer, language="zh")
    whisper.transcribe(good_zh_customer[: 16000 * 40], language="zh")  # another call between
    again = whisper.transcribe(good_zh_customer, language="zh")

    assert [s.text for s in again.segments] == [s.text for s in first.segments]
    assert [w.start for s in again.segments for w in s.words] == [
        w.start for s in first.segments for w in s.words
    ]
