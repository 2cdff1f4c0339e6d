"""pyannote segmentation-3.0 without pyannote.audio: the network, its sliding windows, and the
aggregation of the windows into one timeline, written out (as :mod:`asr.campplus` is for CAM++).

Importing pyannote.audio took 6.4 s of a mono call's first diarization (3.0 s of it
``lightning``, pulled in by its ``Model`` and ``Inference``), more than the model itself runs
on a 76 s call. Here the checkpoint's weights go into the same network -- SincNet (80 sinc band
passes, computed once at load instead of on every forward) > 4 bidirectional LSTM layers > 2
linear layers > 7 powerset classes -- and the steps around it are pyannote 4.0's, numerically:

* :meth:`Segmentation.__call__` slides 10 s windows over the call (the last one zero-padded) and
  turns each frame's most likely powerset class into 0/1 activity of 3 *local* speakers
  (``Inference(skip_aggregation=True)`` with its powerset conversion);
* :func:`speaker_count` is ``SpeakerDiarizationMixin.speaker_count`` (no warm-up);
* :func:`to_turns` is ``to_diarization`` then ``to_annotation`` (``Binarize`` at 0.5).

tests/asr/test_segmentation.py checks all three against pyannote.audio on its sample call.

Usage::

    segmentation = Segmentation(path_to_pytorch_model_bin)
    windows = segmentation(audio_16k)           # Windows: (windows, frames, 3) 0/1 data
    count = speaker_count(windows)              # speakers at once, per frame
"""

from __future__ import annotations

import pickle
import types
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: the sample rate the model was trained at
SAMPLE_RATE = 16000
#: seconds of audio the model sees at once
WINDOW_S = 10.0
#: local speakers per window, and at most 2 of them at once (the 7 powerset classes)
LOCAL_SPEAKERS = 3
MAX_AT_ONCE = 2
#: SincNet's convolutions and poolings (kernel, stride); the first is the sinc filter bank
_LAYERS = ((251, 10), (3, 3), (5, 1), (3, 3), (5, 1), (3, 3))
#: windows per forward pass
BATCH_SIZE = 16


class SegmentationModelError(Exception):
    """The segmentation checkpoint is missing, damaged or not segmentation-3.0's shape."""


@dataclass(frozen=True)
class SlidingWindow:
    """Evenly spaced stretches of time (seconds): the i-th starts at ``start + i * step``."""

    start: float
    duration: float
    step: float

    def start_of(self, i: int | np.integer) -> float:
        return self.start + int(i) * self.step

    def closest_frame(self, t: float) -> int:
        """The index of the stretch whose middle is closest to ``t``."""
        return int(np.rint((t - self.start - 0.5 * self.duration) / self.step))


@dataclass
class Windows:
    """Per-window, per-frame values: ``data`` is (windows, frames, classes); ``windows`` says
    where each window lies in the call."""

    data: np.ndarray
    windows: SlidingWindow


def _receptive_field() -> SlidingWindow:
    """The stretch of audio behind each output frame (pyannote's ``Model.receptive_field``)."""

    def size(frames: int) -> int:
        for kernel, stride in reversed(_LAYERS):
            frames = kernel + (frames - 1) * stride
        return frames

    centre = 0
    for kernel, stride in reversed(_LAYERS):
        centre = centre * stride + (kernel - 1) // 2
    one = size(1)
    return SlidingWindow(
        start=(centre - (one - 1) / 2) / SAMPLE_RATE,
        duration=one / SAMPLE_RATE,
        step=(size(2) - one) / SAMPLE_RATE,
    )


#: the output frames' own sliding window (about 17 ms apart, 0.6 s window of 10 s: 589 frames)
FRAMES = _receptive_field()


def _powerset_mapping() -> torch.Tensor:
    """(7, 3): which local speakers each powerset class holds: {}, {0}, {1}, {2}, {0,1}, ..."""
    classes = [c for n in range(MAX_AT_ONCE + 1) for c in combinations(range(LOCAL_SPEAKERS), n)]
    mapping = torch.zeros(len(classes), LOCAL_SPEAKERS)
    for i, members in enumerate(classes):
        mapping[i, list(members)] = 1.0
    return mapping


def _sinc_filters(low_hz: torch.Tensor, band_hz: torch.Tensor, kernel: int) -> torch.Tensor:
    """asteroid_filterbanks' ``ParamSincFB`` filters (cosine then sine band passes) from the
    learned edges, (80, 1, kernel)."""
    min_low_hz = min_band_hz = 50.0
    half = kernel // 2
    window = torch.from_numpy(np.hamming(kernel)[:half]).float()
    n = 2 * np.pi * (torch.arange(-half, 0.0).view(1, -1) / SAMPLE_RATE)
    low = min_low_hz + torch.abs(low_hz)
    high = torch.clamp(low + min_band_hz + torch.abs(band_hz), min_low_hz, SAMPLE_RATE / 2)
    band = (high - low)[:, 0]
    ft_low, ft_high = low @ n, high @ n
    cos_left = ((torch.sin(ft_high) - torch.sin(ft_low)) / (n / 2)) * window
    cos = torch.cat([cos_left, 2 * band.view(-1, 1), torch.flip(cos_left, dims=[1])], dim=1)
    sin_left = ((torch.cos(ft_low) - torch.cos(ft_high)) / (n / 2)) * window
    sin = torch.cat([sin_left, torch.zeros_like(band.view(-1, 1)), -torch.flip(sin_left, [1])], 1)
    filters = torch.cat([cos / (2 * band[:, None]), sin / (2 * band[:, None])], dim=0)
    return filters.view(-1, 1, kernel)


class _SincNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        (sinc, sinc_stride), *_ = _LAYERS
        self.conv1d = nn.ModuleList(
            [
                nn.Conv1d(1, 80, sinc, stride=sinc_stride, bias=False),
                nn.Conv1d(80, 60, 5),
                nn.Conv1d(60, 60, 5),
            ]
        )
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs: torch.Tensor = self.wav_norm1d(waveforms)
        for c, (conv, pool, norm) in enumerate(
            zip(self.conv1d, self.pool1d, self.norm1d, strict=True)
        ):
            outputs = conv(outputs)
            if c == 0:
                outputs = outputs.abs_()  # in place: a new 80-channel copy cost 10x the abs
            outputs = F.leaky_relu(norm(pool(outputs)))
        return outputs


class SegmentationNet(nn.Module):
    """PyanNet as segmentation-3.0 is built: SincNet > LSTM > linear > powerset log-softmax."""

    def __init__(self, lstm_layers: int = 4) -> None:
        super().__init__()
        self.sincnet = _SincNet()
        self.lstm = nn.LSTM(60, 128, num_layers=lstm_layers, bidirectional=True, batch_first=True)
        self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
        self.classifier = nn.Linear(128, len(_powerset_mapping()))

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, frames, 7) log-probabilities of the powerset classes."""
        outputs, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
        for linear in self.linear:
            outputs = F.leaky_relu(linear(outputs))
        return F.log_softmax(self.classifier(outputs), dim=-1)


class _Opaque:
    """Stands in for the pyannote.audio objects pickled next to the weights (the training task's
    specifications), so that reading the checkpoint does not import pyannote.audio."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in {"pyannote", "lightning", "pytorch_lightning"}:
            return _Opaque
        return super().find_class(module, name)


_PICKLE = types.SimpleNamespace(__name__="pickle", Unpickler=_Unpickler, load=pickle.load)


def load_network(path: Path, device: str = "cpu") -> SegmentationNet:
    """The segmentation-3.0 network with the checkpoint's weights, ready for inference."""
    try:
        checkpoint = torch.load(
            path, map_location=torch.device(device), weights_only=False, pickle_module=_PICKLE
        )
        state = dict(checkpoint["state_dict"])
        low = state.pop("sincnet.conv1d.0.filterbank.low_hz_")
        band = state.pop("sincnet.conv1d.0.filterbank.band_hz_")
        for buffer in ("window_", "n_"):
            state.pop(f"sincnet.conv1d.0.filterbank.{buffer}", None)
        state["sincnet.conv1d.0.weight"] = _sinc_filters(low.cpu(), band.cpu(), _LAYERS[0][0])
        layers = sum(1 for key in state if key.startswith("lstm.weight_ih_l") and "_rev" not in key)
        network = SegmentationNet(lstm_layers=layers)
        network.load_state_dict(state)
    except Exception as error:  # torch raises many kinds on a damaged or foreign checkpoint
        raise SegmentationModelError(
            f"cannot load the segmentation model {path} ({error}); "
            "run: qa models check, then qa models fetch"
        ) from error
    return network.to(device).eval()


class Segmentation:
    """segmentation-3.0 over sliding 10 s windows, ``step`` (a fraction of the window) apart."""

    def __init__(self, path: Path, *, device: str = "cpu", step: float = 0.5) -> None:
        self.network = load_network(path, device)
        self.device = torch.device(device)
        self.windows = SlidingWindow(start=0.0, duration=WINDOW_S, step=step * WINDOW_S)
        self._mapping = _powerset_mapping().to(self.device)

    def scores(self, audio: torch.Tensor) -> np.ndarray:
        """(windows, frames, 7) powerset log-probabilities of each window of the 16 kHz call."""
        size = round(WINDOW_S * SAMPLE_RATE)
        step = round(self.windows.step * SAMPLE_RATE)
        samples = audio.numel()
        chunks = audio.unfold(0, size, step) if samples >= size else audio[:0].view(0, size)
        if samples < size or (samples - size) % step > 0:  # the last window, zero-padded
            last = audio[len(chunks) * step :]
            chunks = torch.cat([chunks, F.pad(last, (0, size - last.numel()))[None]])
        outputs = []
        with torch.inference_mode():
            for first in range(0, len(chunks), BATCH_SIZE):
                batch = chunks[first : first + BATCH_SIZE, None].to(self.device)
                outputs.append(self.network(batch).cpu())
        return torch.cat(outputs).numpy()

    def __call__(self, audio: torch.Tensor) -> Windows:
        """Each window's 0/1 activity of its 3 local speakers, (windows, frames, 3)."""
        scores = torch.from_numpy(self.scores(audio)).to(self.device)
        hard = F.one_hot(scores.argmax(dim=-1), len(self._mapping)).float() @ self._mapping
        return Windows(hard.cpu().numpy(), self.windows)


def aggregate(
    windows: Windows, *, average: bool = True, frames: SlidingWindow = FRAMES
) -> np.ndarray:
    """Overlap-add of the windows' frames onto the call's frame timeline (pyannote's
    ``Inference.aggregate`` without Hamming or warm-up, missing frames 0), (frames, classes).
    NaN classes of a window do not count there."""
    num_windows, per_window, num_classes = windows.data.shape
    chunks = windows.windows
    frames = SlidingWindow(chunks.start, frames.duration, frames.step)
    last = chunks.start + chunks.duration + (num_windows - 1) * chunks.step
    num_frames = frames.closest_frame(last + 0.5 * frames.duration) + 1
    total = np.zeros((num_frames, num_classes), dtype=np.float32)
    counted = np.zeros((num_frames, num_classes), dtype=np.float32)
    seen = np.zeros((num_frames, num_classes), dtype=np.float32)
    for w in range(num_windows):
        score = windows.data[w]
        mask = 1 - np.isnan(score)
        score = np.nan_to_num(score, nan=0.0)
        first = frames.closest_frame(chunks.start_of(w) + 0.5 * frames.duration)
        total[first : first + per_window] += score * mask
        counted[first : first + per_window] += mask
        seen[first : first + per_window] = np.maximum(seen[first : first + per_window], mask)
    result = total / np.maximum(counted, 1e-12) if average else total
    result[seen == 0.0] = 0.0
    return result


def speaker_count(windows: Windows) -> np.ndarray:
    """How many speakers talk at once in each frame of the call, (frames,) uint8."""
    talking = Windows(windows.data.sum(axis=-1, keepdims=True), windows.windows)
    count: np.ndarray = np.rint(aggregate(talking))[:, 0].astype(np.uint8)
    return count


def to_turns(clustered: Windows, count: np.ndarray) -> list[tuple[float, float, int]]:
    """(start, end, speaker) turns from the windows' activity per call speaker (NaN where a
    window does not have that speaker) and the speaker count per frame: in each frame the
    ``count`` most active speakers talk. Sorted by speaker, then time."""
    activations = aggregate(clustered, average=False)
    most = int(count.max()) if count.size else 0
    if activations.shape[1] < most:
        activations = np.pad(activations, ((0, 0), (0, most - activations.shape[1])))
    ranked = np.argsort(-activations, axis=-1)
    binary = np.zeros_like(activations)
    for t, (c, speakers) in enumerate(zip(count, ranked, strict=True)):
        binary[t, speakers[: int(c)]] = 1.0
    # the frames' middles on the aggregated timeline, which starts with the first window
    start = clustered.windows.start
    middles = start + np.arange(len(binary)) * FRAMES.step + FRAMES.duration / 2
    turns = []
    for speaker, active in enumerate(binary.T > 0.5):
        edges = np.flatnonzero(np.diff(active.astype(np.int8)))
        starts = [0] if active[0] else []
        starts += [int(e) + 1 for e in edges if not active[e]]
        ends = [int(e) + 1 for e in edges if active[e]] + ([len(active) - 1] if active[-1] else [])
        for start, end in zip(starts, ends, strict=True):
            if middles[end] - middles[start] > 1e-6:
                turns.append((float(middles[start]), float(middles[end]), speaker))
    return turns
