"""Who spoke when on mono telephone audio: pyannote segmentation + CAM++ embeddings + clustering.

The pieces, all local (``qa models fetch`` installs them):

1. pyannote segmentation-3.0 runs on 10 s windows sliding over the call and says, per window,
   when each of up to three *local* speakers is active;
2. CAM++ embeds each local speaker of the *anchor* windows -- one window every
   ``EMBEDDING_EVERY_S`` seconds, so each second of speech is embedded about once -- from the
   fbank frames where that speaker talks alone;
3. agglomerative clustering groups those embeddings into the call's speakers. A call has two
   parties, so the number of clusters is pulled towards ``expected_speakers`` -- but a voice that
   is clearly distinct (a transfer brings in another agent) keeps its own cluster;
4. the windows between anchors take their local speakers' clusters from the anchors they overlap:
   the segmentation model labels the same voice in two overlapping windows with the same activity
   over the shared seconds, so the local speaker that is active with an anchor's speaker is that
   speaker (*stitching*). A local speaker no anchor explains is embedded after all and joins the
   nearest cluster;
5. pyannote's aggregation rebuilds the timeline from all the clustered windows;
6. a short turn that overlaps no other is embedded on its own and moves to a clearly nearer
   voice (a one-word reply between two long turns of the other party).

Embedding every window (what the sliding step alone would do) cost five CAM++ passes per second
of audio at the old 2 s step and was 80% of a mono call's diarization time; the anchors cut that
to about one, and the windows in between keep the step's boundaries. Segmentation is then what
scales with the step, so the default is a 5 s step: as accurate on pyannote's call as the 2 s one
(docs/benchmarks.md, "Mono calls").

pyannote's full ``SpeakerDiarization`` pipeline is not used: it accepts only pyannote-format
embedding models and its VBx clustering needs a PLDA file that no installable package ships.
The segmentation model and pyannote's steps around the embeddings (speaker count, aggregation)
are written out in :mod:`asr.segmentation`, so pyannote.audio (6.4 s to import) is not loaded.

Usage::

    diarize = Diarizer(models_dir)
    for segment in diarize(waveform_8k, 8000):
        print(segment.start, segment.end, segment.speaker)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as audio_functional
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import cdist

from asr.campplus import (
    EMBEDDING_DIM,
    FRAME_LENGTH_S,
    FRAME_SHIFT_S,
    SAMPLE_RATE,
    EmbeddingModelError,
    SpeakerEmbedder,
)
from asr.models import CAMPPLUS_FILE, SEGMENTATION_FILE
from asr.segmentation import (
    Segmentation,
    SegmentationModelError,
    Windows,
    speaker_count,
    to_turns,
)

log = logging.getLogger(__name__)

#: window step as a fraction of the 10 s segmentation window (5 s): since only the anchors are
#: embedded, segmentation is the cost that scales with 1/step; the 5 s step was as accurate as the
#: 2 s one on pyannote's call (docs/models.md, docs/benchmarks.md "Mono calls")
SEGMENTATION_STEP = 0.5
#: seconds between anchor windows, the windows whose local speakers are embedded (the 10 s window
#: length: the anchors tile the call once)
EMBEDDING_EVERY_S = 10.0
#: at most this many fbank frames (3 s) of a local speaker go into its embedding: the middle of
#: its frames in the window. CAM++'s cost is linear in frames and its embeddings of 3 s told the
#: sample calls' voices apart as well as those of up to 10 s did (docs/benchmarks.md, "Mono
#: calls"); equal lengths also let most embeddings share a forward pass
MAX_EMBED_FRAMES = 300
#: seconds a local speaker must be active together with an anchor's speaker to take its cluster
MIN_STITCH_S = 0.25
#: average cosine distance between CAM++ clusters under which they are clearly one voice
SAME_SPEAKER_DISTANCE = 0.3
#: ... and over which they are clearly different voices
DISTINCT_SPEAKER_DISTANCE = 0.5
#: a (window, speaker) trains the clustering only if it speaks alone for this share of the window
MIN_ACTIVE_RATIO = 0.2
#: clusters with fewer members than this are folded into the nearest large one
MIN_CLUSTER_SIZE = 3
#: a turn this short that overlaps no other is embedded on its own: the segmentation model can
#: give a one-word reply ("Fine.", "嗯") between two long turns of the other party to that party's
#: local speaker in every window that holds it, so no clustering of windows can tell them apart
SHORT_TURN_S = 2.0
#: ... and moves to another cluster when that one is nearer by this much, and not a distinct voice
RELABEL_MARGIN = 0.2


class DiarizationError(Exception):
    """Diarization could not run on the given input or models."""


@dataclass(frozen=True)
class SpeakerSegment:
    """One stretch of speech by one speaker; times in seconds from the start of the audio."""

    start: float
    end: float
    speaker: str  # "SPEAKER_00" is whoever speaks first


class Diarizer:
    """Loads the segmentation and embedding models once; call it on each mono recording."""

    def __init__(
        self, models_dir: Path, *, device: str = "cpu", segmentation_step: float = SEGMENTATION_STEP
    ) -> None:
        self.segmentation_step = segmentation_step
        segmentation_path = models_dir / SEGMENTATION_FILE
        campplus_path = models_dir / CAMPPLUS_FILE
        for path in (segmentation_path, campplus_path):
            if not path.is_file():
                raise DiarizationError(f"model file {path} is missing; run: qa models fetch")
        try:
            self._segmentation = Segmentation(
                segmentation_path, device=device, step=segmentation_step
            )
        except SegmentationModelError as error:
            raise DiarizationError(str(error)) from error
        try:
            self._embedder = SpeakerEmbedder(campplus_path, device=device)
        except EmbeddingModelError as error:
            raise DiarizationError(str(error)) from error

    def __call__(
        self,
        waveform: np.ndarray,
        sample_rate: int,
        *,
        min_speakers: int = 1,
        max_speakers: int = 3,
        expected_speakers: int = 2,
        exclusive: bool = False,
    ) -> list[SpeakerSegment]:
        """Diarize one mono recording (float samples in [-1, 1], any sample rate).

        ``exclusive=True`` gives at most one speaker at a time (overlaps go to the most likely
        speaker); by default overlapping speech appears in both speakers' segments.
        Returns segments sorted by start time.
        """
        if not 1 <= min_speakers <= expected_speakers <= max_speakers:
            raise DiarizationError(
                "speaker counts must satisfy 1 <= min_speakers <= expected_speakers <= "
                f"max_speakers (got {min_speakers}, {expected_speakers}, {max_speakers})"
            )
        audio = _to_16k(waveform, sample_rate)
        if audio.numel() < SAMPLE_RATE // 2:
            log.info("audio shorter than 0.5 s: no speakers")
            return []
        started = time.perf_counter()
        segmentations = self._segmentation(audio)
        count = speaker_count(segmentations)
        if count.max() == 0:
            log.info("no speech found")
            return []
        features = self._embedder.features(audio)
        centres = _frame_centres(features)
        anchors = _anchor_windows(segmentations)
        embeddings = self._embed(features, centres, segmentations, anchors)
        clusters, centroids = _assign_clusters(
            embeddings,
            segmentations.data,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            expected_speakers=expected_speakers,
        )
        clusters = _stitch(segmentations, clusters, anchors)
        clusters = self._embed_unexplained(features, centres, segmentations, clusters, centroids)
        if clusters.max() < 0:
            log.info("no speaker talks long enough (0.25 s) for a voice embedding")
            return []
        # never more simultaneous speakers than clusters (pyannote would invent an empty one)
        most = 1 if exclusive else min(max_speakers, int(clusters.max()) + 1)
        turns = _reconstruct(segmentations, clusters, np.minimum(count, most))
        turns = _clipped(turns, duration=audio.numel() / SAMPLE_RATE)
        segments = _named(self._relabel_short_turns(features, centres, turns, centroids))
        log.info(
            "diarized %.1f s of audio in %.1f s: %d speakers, %d segments",
            audio.numel() / SAMPLE_RATE,
            time.perf_counter() - started,
            len({segment.speaker for segment in segments}),
            len(segments),
        )
        return segments

    def _embed(
        self,
        features: torch.Tensor,
        centres: np.ndarray,
        segmentations: Windows,
        windows: np.ndarray,
    ) -> np.ndarray:
        """One CAM++ embedding per (window, local speaker) of the ``windows`` (a boolean mask);
        NaN elsewhere and where a speaker is too short."""
        data = segmentations.data  # (windows, frames, local speakers), 0/1
        num_windows, _, num_local = data.shape
        embeddings = np.full((num_windows, num_local, EMBEDDING_DIM), np.nan)
        chosen, inputs = [], []
        for w in np.flatnonzero(windows):
            for k in range(num_local):
                frames = self._speaker_frames(features, centres, segmentations, int(w), k)
                if frames is not None:
                    chosen.append((int(w), k))
                    inputs.append(frames)
        if inputs:
            embeddings[tuple(np.array(chosen).T)] = self._embedder.embed_many(inputs)
        return embeddings

    def _speaker_frames(
        self,
        features: torch.Tensor,
        centres: np.ndarray,
        segmentations: Windows,
        w: int,
        k: int,
    ) -> torch.Tensor | None:
        """The fbank frames of window ``w`` where local speaker ``k`` talks (alone, if long
        enough), or None when there are too few for an embedding."""
        data = segmentations.data
        num_frames = data.shape[1]
        window_duration = segmentations.windows.duration
        start = segmentations.windows.start_of(w)
        inside = np.flatnonzero((centres >= start) & (centres < start + window_duration))
        if inside.size == 0:
            return None
        # segmentation frame under each fbank frame of this window
        index = ((centres[inside] - start) / window_duration * num_frames).astype(int)
        index = np.minimum(index, num_frames - 1)
        speaking = data[w, index, k] > 0
        clean = speaking & (data[w, index].sum(axis=1) == 1)
        chosen = clean if clean.sum() >= self._embedder.MIN_FRAMES else speaking
        if chosen.sum() < self._embedder.MIN_FRAMES:
            return None
        picked = inside[chosen]
        if picked.size > MAX_EMBED_FRAMES:
            first = (picked.size - MAX_EMBED_FRAMES) // 2
            picked = picked[first : first + MAX_EMBED_FRAMES]
        return features[picked]

    def _embed_unexplained(
        self,
        features: torch.Tensor,
        centres: np.ndarray,
        segmentations: Windows,
        clusters: np.ndarray,
        centroids: np.ndarray,
    ) -> np.ndarray:
        """Embed the local speakers that talk but took no cluster from an anchor, and give each
        the nearest cluster (-2 stays for those too short to embed)."""
        if centroids.size == 0:
            return clusters
        talking = segmentations.data.sum(axis=1) > 0  # (windows, local speakers)
        clusters = clusters.copy()
        chosen, inputs = [], []
        for w, k in zip(*np.nonzero(talking & (clusters < 0)), strict=True):
            frames = self._speaker_frames(features, centres, segmentations, int(w), int(k))
            if frames is not None:
                chosen.append((int(w), int(k)))
                inputs.append(frames)
        if inputs:
            vectors = _unit(self._embedder.embed_many(inputs))
            nearest = cdist(vectors, centroids, metric="cosine").argmin(axis=1)
            clusters[tuple(np.array(chosen).T)] = nearest
        return clusters

    def _relabel_short_turns(
        self,
        features: torch.Tensor,
        centres: np.ndarray,
        turns: list[tuple[float, float, int]],
        centroids: np.ndarray,
    ) -> list[tuple[float, float, int]]:
        """Embed each short turn that overlaps no other on its own and give it to the cluster
        it is clearly nearer to (``SHORT_TURN_S``, ``RELABEL_MARGIN``)."""
        if len(centroids) < 2:
            return turns
        short, inputs = [], []
        for index, (start, end, label) in enumerate(turns):
            overlapped = any(other != label and s < end and start < e for s, e, other in turns)
            inside = np.flatnonzero((centres >= start) & (centres < end))
            short_enough = end - start <= SHORT_TURN_S and not overlapped
            if short_enough and inside.size >= self._embedder.MIN_FRAMES:
                short.append(index)
                inputs.append(features[inside])
        if not inputs:
            return turns
        relabelled = list(turns)
        vectors = _unit(self._embedder.embed_many(inputs))
        for index, distances in zip(short, cdist(vectors, centroids, metric="cosine"), strict=True):
            start, end, label = turns[index]
            nearest = int(distances.argmin())
            if (
                nearest != label
                and distances[nearest] < DISTINCT_SPEAKER_DISTANCE
                and distances[label] - distances[nearest] >= RELABEL_MARGIN
            ):
                log.info("%.1f-%.1f s: a short turn moves to the voice it is nearer", start, end)
                relabelled[index] = (start, end, nearest)
        return relabelled


def _frame_centres(features: torch.Tensor) -> np.ndarray:
    """The time (s) at the centre of each fbank frame of the call, computed once per call."""
    centres: np.ndarray = np.arange(features.shape[0]) * FRAME_SHIFT_S + FRAME_LENGTH_S / 2
    return centres


def _anchor_windows(segmentations: Windows) -> np.ndarray:
    """A boolean mask of the windows whose speakers are embedded: one every
    ``EMBEDDING_EVERY_S`` seconds from the first, and the last (so the end of the call is
    covered)."""
    num_windows = segmentations.data.shape[0]
    stride = max(1, round(EMBEDDING_EVERY_S / segmentations.windows.step))
    anchors = np.zeros(num_windows, dtype=bool)
    anchors[::stride] = True
    anchors[-1] = True
    return anchors


def _stitch(segmentations: Windows, clusters: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Give each local speaker of a window between anchors the cluster of the anchor speaker it
    is active with for longest over the seconds the two windows share (at least
    ``MIN_STITCH_S``); -2 where none is."""
    data = segmentations.data > 0
    _, num_frames, num_local = data.shape
    window = segmentations.windows
    frame = window.duration / num_frames
    stitched = clusters.copy()
    anchor_starts = np.array([window.start_of(a) for a in np.flatnonzero(anchors)])
    anchor_index = np.flatnonzero(anchors)
    for w in np.flatnonzero(~anchors):
        start = window.start_of(w)
        near = anchor_index[np.abs(anchor_starts - start) < window.duration]
        for k in range(num_local):
            active = data[w, :, k]
            if not active.any():
                continue
            best, best_frames = -2, 0
            for a in near:
                shift = round((window.start_of(a) - start) / frame)
                low, high = max(0, shift), min(num_frames, num_frames + shift)
                if high <= low:
                    continue
                together = active[low:high, np.newaxis] & data[a, low - shift : high - shift]
                for j, frames in enumerate(together.sum(axis=0)):
                    if clusters[a, j] >= 0 and frames > best_frames:
                        best, best_frames = int(clusters[a, j]), int(frames)
            if best_frames * frame >= MIN_STITCH_S:
                stitched[w, k] = best
    return stitched


def _to_16k(waveform: np.ndarray, sample_rate: int) -> torch.Tensor:
    samples = np.asarray(waveform)
    if samples.ndim != 1:
        raise DiarizationError(
            f"expected mono audio as a 1-D array, got shape {samples.shape}; "
            "downmix or split the channels first"
        )
    if sample_rate <= 0:
        raise DiarizationError(f"invalid sample rate {sample_rate}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise DiarizationError(
            f"expected float samples in [-1, 1], got {samples.dtype}; decode the audio as float32"
        )
    tensor = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if not torch.isfinite(tensor).all():
        raise DiarizationError("audio contains NaN or infinite samples; check the decoder")
    if sample_rate != SAMPLE_RATE:
        tensor = audio_functional.resample(tensor, sample_rate, SAMPLE_RATE)
    return tensor


def _assign_clusters(
    embeddings: np.ndarray,
    segmentations: np.ndarray,
    *,
    min_speakers: int,
    max_speakers: int,
    expected_speakers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster index per (window, local speaker), -2 for speakers that are silent or unembedded;
    and the clusters' unit centroids (one row per cluster; none when nothing was embedded)."""
    num_windows, num_frames, num_local = segmentations.shape
    alone = segmentations.sum(axis=2, keepdims=True) == 1
    clean_frames = (segmentations * alone).sum(axis=1)
    valid = ~np.isnan(embeddings).any(axis=2)
    train = valid & (clean_frames >= MIN_ACTIVE_RATIO * num_frames)
    if train.sum() < 2:  # short call: fall back to every embedding we have
        train = valid
    hard = np.full((num_windows, num_local), -2, dtype=np.int64)
    if not train.any():
        return hard, np.empty((0, embeddings.shape[2]))
    vectors = _unit(embeddings[train])
    labels = cluster_embeddings(
        vectors,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        expected_speakers=expected_speakers,
        same_distance=SAME_SPEAKER_DISTANCE,
        distinct_distance=DISTINCT_SPEAKER_DISTANCE,
    )
    centroids = _unit(np.vstack([vectors[labels == k].mean(axis=0) for k in np.unique(labels)]))
    distances = cdist(_unit(embeddings[valid]), centroids, metric="cosine")
    hard[valid] = distances.argmin(axis=1)
    hard[segmentations.sum(axis=1) == 0] = -2
    return hard, centroids


def cluster_embeddings(
    vectors: np.ndarray,
    *,
    min_speakers: int = 1,
    max_speakers: int = 3,
    expected_speakers: int = 2,
    same_distance: float = SAME_SPEAKER_DISTANCE,
    distinct_distance: float = DISTINCT_SPEAKER_DISTANCE,
) -> np.ndarray:
    """Agglomerative (average-linkage, cosine) clustering of unit speaker embeddings.

    The expected number of speakers wins unless the evidence is clear: more speakers only if
    the extra clusters are further apart than ``distinct_distance`` (a transferred call brings
    in a third voice), fewer only if the clusters that would be merged are closer than
    ``same_distance`` (one person talking). Always within ``[min_speakers, max_speakers]``.
    Clusters of fewer than ``MIN_CLUSTER_SIZE`` windows (an odd noise) join the nearest large
    one. Returns a label ``0..k-1`` per row.
    """
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    tree = linkage(vectors, method="average", metric="cosine")
    min_size = min(MIN_CLUSTER_SIZE, max(1, round(0.1 * len(vectors))))

    def large_clusters(labels: np.ndarray) -> int:
        return int((np.bincount(labels)[1:] >= min_size).sum())

    at_most = large_clusters(fcluster(tree, same_distance, criterion="distance"))
    at_least = large_clusters(fcluster(tree, distinct_distance, criterion="distance"))
    target = min(max(expected_speakers, at_least), at_most)
    target = max(min_speakers, min(max_speakers, target))
    log.debug(
        "top merge distances %s: %d..%d speakers -> %d",
        np.round(tree[-4:, 2], 3),
        at_least,
        at_most,
        target,
    )
    labels = fcluster(tree, 1, criterion="maxclust")
    for k in range(1, len(vectors) + 1):  # the coarsest cut with `target` large clusters
        labels = fcluster(tree, k, criterion="maxclust")
        if large_clusters(labels) >= target:
            break
    return _fold_small_clusters(vectors, labels - 1, min_size)


def _fold_small_clusters(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    sizes = np.bincount(labels)
    large = np.flatnonzero(sizes >= min_size)
    small = np.flatnonzero((sizes > 0) & (sizes < min_size))
    if large.size == 0:
        return np.zeros_like(labels)
    if small.size:
        centroids = np.vstack([vectors[labels == k].mean(axis=0) for k in large])
        for k in small:
            nearest = cdist(vectors[labels == k].mean(axis=0, keepdims=True), centroids, "cosine")
            labels[labels == k] = large[nearest.argmin()]
    return np.unique(labels, return_inverse=True)[1]


def _unit(vectors: np.ndarray) -> np.ndarray:
    unit: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit


def _reconstruct(
    segmentations: Windows, clusters: np.ndarray, count: np.ndarray
) -> list[tuple[float, float, int]]:
    """Map local speakers to their clusters and aggregate the windows into (start, end,
    cluster) turns."""
    num_windows, num_frames, _ = segmentations.data.shape
    num_clusters = max(int(clusters.max()) + 1, 1)
    clustered = np.full((num_windows, num_frames, num_clusters), np.nan)
    for w in range(num_windows):
        for k in np.unique(clusters[w]):
            if k >= 0:
                clustered[w, :, k] = segmentations.data[w][:, clusters[w] == k].max(axis=1)
    return to_turns(Windows(clustered, segmentations.windows), count)


def _clipped(
    turns: list[tuple[float, float, int]], *, duration: float
) -> list[tuple[float, float, int]]:
    """The turns in time order, clipped to the audio (the last window is padded past its end)."""
    return sorted(
        (start, min(end, duration), label) for start, end, label in turns if start < duration
    )


def _named(turns: list[tuple[float, float, int]]) -> list[SpeakerSegment]:
    """The turns as segments, speakers named by first appearance."""
    names: dict[int, str] = {}
    for _, _, label in turns:  # SPEAKER_00 is whoever speaks first
        names.setdefault(label, f"SPEAKER_{len(names):02d}")
    return [
        SpeakerSegment(round(start, 3), round(end, 3), names[label]) for start, end, label in turns
    ]
