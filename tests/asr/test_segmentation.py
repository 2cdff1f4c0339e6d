"""pyannote segmentation-3.0 run by asr.segmentation (without pyannote.audio) gives pyannote's own
numbers on its real sample call: the network's log-probabilities, the 0/1 local speaker activity
of every window, the speaker count per frame and the turns rebuilt from clustered windows.

pyannote.audio is imported here only as the reference; the diarizer no longer imports it (6.4 s
of a mono call's first diarization, 3.0 s of it ``lightning``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.models import SEGMENTATION_FILE, default_models_dir
from asr.segmentation import (
    FRAMES,
    Segmentation,
    SegmentationModelError,
    Windows,
    speaker_count,
    to_turns,
)

pytestmark = pytest.mark.models

SAMPLE = Path(importlib.util.find_spec("pyannote.audio").origin).parent / "sample" / "sample.wav"
CHECKPOINT = default_models_dir() / SEGMENTATION_FILE


@pytest.fixture(scope="module")
def pyannote_model():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyannote.audio import Model

    model = Model.from_pretrained(CHECKPOINT)
    model.eval()
    return model


@pytest.fixture(scope="module")
def sample() -> torch.Tensor:
    audio, rate = sf.read(SAMPLE, dtype="float32")
    assert rate == 16000
    return torch.from_numpy(audio)


def _pyannote_windows(model, audio: torch.Tensor, step: float, *, powerset: bool = False):  # type: ignore[no-untyped-def]
    from pyannote.audio import Inference

    inference = Inference(
        model,
        duration=10.0,
        step=step * 10.0,
        skip_aggregation=True,
        skip_conversion=powerset,
        batch_size=16,
    )
    return inference({"waveform": audio[None], "sample_rate": 16000})


# 30 s with the 5 s step (the default) and the old 2 s one; 7 s: one zero-padded window only;
# 23.3 s: a last window that does not fall on the step
@pytest.mark.parametrize(("seconds", "step"), [(30.0, 0.5), (30.0, 0.2), (7.0, 0.5), (23.3, 0.5)])
def test_the_windows_are_pyannotes_to_the_frame(  # type: ignore[no-untyped-def]
    pyannote_model, sample: torch.Tensor, seconds: float, step: float
) -> None:
    audio = sample[: round(seconds * 16000)]
    ours = Segmentation(CHECKPOINT, step=step)

    scores = _pyannote_windows(pyannote_model, audio, step, powerset=True)
    assert np.abs(ours.scores(audio) - scores.data).max() < 1e-4

    theirs = _pyannote_windows(pyannote_model, audio, step)
    windows = ours(audio)
    assert windows.data.shape == theirs.data.shape
    assert np.array_equal(windows.data, theirs.data)
    assert windows.windows.step == theirs.sliding_window.step
    field = pyannote_model.receptive_field
    assert (FRAMES.start, FRAMES.duration, FRAMES.step) == (field.start, field.duration, field.step)


def test_the_speaker_count_and_the_turns_are_pyannotes(  # type: ignore[no-untyped-def]
    pyannote_model, sample: torch.Tensor
) -> None:
    from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin as Mixin
    from pyannote.core import SlidingWindowFeature

    ours = Segmentation(CHECKPOINT)(sample)
    theirs = _pyannote_windows(pyannote_model, sample, 0.5)
    count = Mixin.speaker_count(theirs, pyannote_model.receptive_field, warm_up=(0.0, 0.0))
    assert np.array_equal(speaker_count(ours), count.data[:, 0])

    # a clustering of the local speakers into 2 call speakers that swaps them every other
    # window (local order means nothing across windows); the third local speaker unused
    clustered = np.full((*ours.data.shape[:2], 2), np.nan)
    for w in range(len(clustered)):
        clustered[w, :, w % 2] = ours.data[w, :, 0]
        clustered[w, :, 1 - w % 2] = ours.data[w, :, 1]
    count.data = np.minimum(count.data, 2).astype(np.int8)
    discrete = Mixin.to_diarization(
        SlidingWindowFeature(clustered.copy(), theirs.sliding_window), count
    )
    expected = sorted(
        (turn.start, turn.end, label)
        for turn, _, label in Mixin.to_annotation(discrete).itertracks(yield_label=True)
    )
    turns = sorted(to_turns(Windows(clustered, ours.windows), np.minimum(speaker_count(ours), 2)))
    assert len(turns) == len(expected) > 4
    for (start, end, label), (s, e, lab) in zip(turns, expected, strict=True):
        assert label == lab and abs(start - s) < 1e-9 and abs(end - e) < 1e-9


def test_the_diarizer_does_not_import_pyannote_audio() -> None:
    # pyannote.audio and lightning took 6.4 s of the first mono call
    code = (
        "import sys, asr.diarize; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'lightning', 'pytorch_lightning'} "
        "or m.startswith('pyannote.audio')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_damaged_checkpoint_is_named_with_the_fix(tmp_path: Path) -> None:
    damaged = tmp_path / "pytorch_model.bin"
    damaged.write_bytes(CHECKPOINT.read_bytes()[:100_000])
    with pytest.raises(SegmentationModelError, match=r"pytorch_model\.bin.*qa models fetch"):
        Segmentation(damaged)
