"""CAM++ speaker embeddings (3D-Speaker, zh+en "common advanced": 80-dim fbank in, 192-dim out).

The network below reproduces the architecture of 3D-Speaker's ``speakerlab/models/campplus``
(FCM head, TDNN, three CAM dense-TDNN blocks with transit layers, statistics pooling, dense layer)
so that the published state dict loads with ``strict=True``. Adapted from:

    Copyright 3D-Speaker (https://github.com/alibaba-damo-academy/3D-Speaker). All Rights Reserved.
    Licensed under the Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0)

Changes from the original: typed and trimmed to inference (no gradient checkpointing, no
configurable nonlinearities); module names and parameter shapes are unchanged. The embedding is
the output of an affine-free batch norm with no ReLU, as in 3D-Speaker (some copies add one).

Usage::

    embedder = SpeakerEmbedder(models_dir / CAMPPLUS_FILE)
    features = embedder.features(waveform_16k)      # (frames, 80)
    vector = embedder.embed(features[1000:2500])    # (192,) for frames 10 s .. 25 s
    vectors = embedder.embed_many([features[:300], features[500:800]])  # (2, 192), batched
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchaudio.compliance import kaldi

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FEATURE_DIM = 80
EMBEDDING_DIM = 192
FRAME_SHIFT_S = 0.010  # kaldi fbank default
FRAME_LENGTH_S = 0.025
#: inputs of one length per forward pass in :meth:`SpeakerEmbedder.embed_many`: a mono call's
#: embeddings were ~60 passes of 0.25-10 s, each of some 700 small ops; 8 at once makes each op
#: large enough for torch's threads (and 40 at once was slower again: the activations outgrow
#: the cache)
BATCH_SIZE = 8


class EmbeddingModelError(Exception):
    """The CAM++ weights file cannot be loaded."""


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU(inplace=True))])
    )


class _BasicResBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=(stride, 1), padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _FCM(nn.Module):
    """2-D convolutional front end over (frequency, time)."""

    def __init__(self, m_channels: int = 32, feat_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(
            _BasicResBlock(m_channels, m_channels, stride=2),
            _BasicResBlock(m_channels, m_channels, stride=1),
        )
        self.layer2 = nn.Sequential(
            _BasicResBlock(m_channels, m_channels, stride=2),
            _BasicResBlock(m_channels, m_channels, stride=1),
        )
        self.conv2 = nn.Conv2d(
            m_channels, m_channels, kernel_size=3, stride=(2, 1), padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        batch, channels, freq, time = out.shape
        return out.reshape(batch, channels * freq, time)


class _TDNNLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.linear = nn.Conv1d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )
        self.nonlinear = _bn_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _CAMLayer(nn.Module):
    """Context-aware masking: a local conv gated by utterance- and segment-level context."""

    def __init__(
        self, bn_channels: int, out_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(
            bn_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_channels // 2, out_channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear_local(x)
        context = x.mean(-1, keepdim=True) + self._segment_pooling(x)
        return y * self.sigmoid(self.linear2(self.relu(self.linear1(context))))

    @staticmethod
    def _segment_pooling(x: torch.Tensor, seg_len: int = 100) -> torch.Tensor:
        seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
        shape = seg.shape
        seg = seg.unsqueeze(-1).expand(*shape, seg_len).reshape(*shape[:-1], -1)
        return seg[..., : x.shape[-1]]


class _CAMDenseTDNNLayer(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bn_channels: int,
        kernel_size: int,
        dilation: int,
    ) -> None:
        super().__init__()
        self.nonlinear1 = _bn_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _bn_relu(bn_channels)
        self.cam_layer = _CAMLayer(bn_channels, out_channels, kernel_size, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _CAMDenseTDNNBlock(nn.ModuleList):
    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        out_channels: int,
        bn_channels: int,
        kernel_size: int,
        dilation: int,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _CAMDenseTDNNLayer(
                in_channels + i * out_channels, out_channels, bn_channels, kernel_size, dilation
            )
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _TransitLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _bn_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _StatsPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1)
        std = x.std(dim=-1, unbiased=True)
        return torch.cat([mean, std], dim=-1)


class _DenseLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential(
            OrderedDict([("batchnorm", nn.BatchNorm1d(out_channels, affine=False))])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """The CAM++ network: ``(batch, frames, 80)`` fbank in, ``(batch, 192)`` embedding out."""

    def __init__(
        self,
        feat_dim: int = FEATURE_DIM,
        embedding_size: int = EMBEDDING_DIM,
        growth_rate: int = 32,
        bn_size: int = 4,
        init_channels: int = 128,
    ) -> None:
        super().__init__()
        self.head = _FCM(feat_dim=feat_dim)
        self.xvector = nn.Sequential(
            OrderedDict([("tdnn", _TDNNLayer(self.head.out_channels, init_channels, 5, stride=2))])
        )
        channels = init_channels
        for i, (num_layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2))):
            block = _CAMDenseTDNNBlock(
                num_layers, channels, growth_rate, bn_size * growth_rate, 3, dilation
            )
            self.xvector.add_module(f"block{i + 1}", block)
            channels += num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", _TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.xvector.add_module("stats", _StatsPool())
        self.xvector.add_module("dense", _DenseLayer(channels * 2, embedding_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.xvector(self.head(features.permute(0, 2, 1)))


def fbank(waveform: torch.Tensor) -> torch.Tensor:
    """80-dim log mel filterbank (Kaldi-compatible, 25 ms / 10 ms, no dither) of a 16 kHz mono
    waveform ``(samples,)`` scaled to [-1, 1]; returns ``(frames, 80)``, not yet normalised."""
    return kaldi.fbank(
        waveform.reshape(1, -1),
        num_mel_bins=FEATURE_DIM,
        sample_frequency=SAMPLE_RATE,
        dither=0.0,
    )


class SpeakerEmbedder:
    """Loads the CAM++ weights once and turns fbank frames into speaker embeddings."""

    #: shortest input in frames (0.25 s): the network downsamples time by 2 and the std needs two
    MIN_FRAMES = 25

    def __init__(self, weights: Path, *, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = CAMPPlus()
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            self.model.load_state_dict(state, strict=True)
        except (OSError, RuntimeError, ValueError) as error:
            raise EmbeddingModelError(
                f"cannot load the CAM++ speaker embedding weights from {weights} ({error}); "
                "run: qa models check, then qa models fetch"
            ) from error
        self.model.eval().to(self.device)

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """Fbank frames of a whole 16 kHz waveform; slice them and pass slices to ``embed``."""
        return fbank(waveform.to(torch.float32))

    @torch.inference_mode()
    def embed(self, features: torch.Tensor) -> np.ndarray:
        """The 192-dim embedding of ``(frames, 80)`` fbank frames, mean-normalised here over the
        frames given (as 3D-Speaker does per utterance)."""
        vector: np.ndarray = self.embed_many([features])[0]
        return vector

    @torch.inference_mode()
    def embed_many(self, inputs: Sequence[torch.Tensor]) -> np.ndarray:
        """The embeddings of several ``(frames, 80)`` inputs, ``(len(inputs), 192)``: each as
        :meth:`embed` gives it, inputs of the same length batched (``BATCH_SIZE`` at a time).
        Nothing is padded: the statistics pooling and CAM++'s context means would see padding."""
        for features in inputs:
            if features.shape[0] < self.MIN_FRAMES:
                raise ValueError(
                    f"need at least {self.MIN_FRAMES} frames for an embedding, "
                    f"got {features.shape[0]}"
                )
        vectors = np.empty((len(inputs), EMBEDDING_DIM), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for index, features in enumerate(inputs):
            by_length.setdefault(features.shape[0], []).append(index)
        for indices in by_length.values():
            for first in range(0, len(indices), BATCH_SIZE):
                chosen = indices[first : first + BATCH_SIZE]
                batch = torch.stack([inputs[i] for i in chosen])
                normalised = batch - batch.mean(dim=1, keepdim=True)  # per input, over frames
                vectors[chosen] = self.model(normalised.to(self.device)).cpu().numpy()
        return vectors
