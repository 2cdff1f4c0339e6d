"""CAM++ embeddings in batches are the embeddings one at a time: the diarizer embeds a call's
speakers in one call of ``embed_many`` (inputs of one length share a forward pass), and the
clustering's distances must not depend on which inputs happened to share one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.campplus import BATCH_SIZE, SpeakerEmbedder
from asr.models import CAMPPLUS_FILE, default_models_dir

pytestmark = pytest.mark.models

SAMPLE = Path(importlib.util.find_spec("pyannote.audio").origin).parent / "sample" / "sample.wav"


def test_batched_embeddings_equal_single_ones() -> None:
    embedder = SpeakerEmbedder(default_models_dir() / CAMPPLUS_FILE)
    audio, rate = sf.read(SAMPLE, dtype="float32")
    assert rate == 16000
    features = embedder.features(torch.from_numpy(audio))
    # more same-length inputs than one batch holds, and odd lengths between them
    spans = [(start, start + 300) for start in range(0, 2700, 250)] + [(100, 137), (900, 1777)]
    assert len(spans) > BATCH_SIZE
    inputs = [features[start:end] for start, end in spans]

    batched = embedder.embed_many(inputs)
    single = np.stack([embedder.embed(frames) for frames in inputs])

    assert batched.shape == (len(spans), 192)
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_too_short_input_is_refused_with_its_length() -> None:
    embedder = SpeakerEmbedder(default_models_dir() / CAMPPLUS_FILE)
    features = torch.zeros(300, 80)
    with pytest.raises(ValueError, match=r"at least 25 frames.*got 10"):
        embedder.embed_many([features, features[:10]])
