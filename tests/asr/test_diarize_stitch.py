"""Stitching: the windows between anchor windows take their speakers' clusters from the anchors
they overlap, whatever local order the segmentation model gave the voices in each window.

Built on the diarizer's sliding-window types, without the models: a 30 s call where X talks
0-6 s and 14-20 s and Y the rest, windows of 10 s every 2 s (100 frames of 0.1 s each).
"""

from __future__ import annotations

import numpy as np

from asr.diarize import _anchor_windows, _stitch
from asr.segmentation import SlidingWindow, Windows

FRAMES, STEP, DURATION = 100, 2.0, 10.0
X_TALKS = [(0.0, 6.0), (14.0, 20.0)]
Y_TALKS = [(6.0, 14.0), (20.0, 30.0)]


def _active(start: float, talks: list[tuple[float, float]]) -> np.ndarray:
    times = start + (np.arange(FRAMES) + 0.5) * DURATION / FRAMES
    return np.any([(times >= a) & (times < b) for a, b in talks], axis=0)


def _segmentations(swapped: set[int]) -> Windows:
    """Windows 0..10; in the ``swapped`` ones the model put Y first and X second (local speaker
    order means nothing across windows)."""
    windows = []
    for w in range(11):
        x, y = _active(w * STEP, X_TALKS), _active(w * STEP, Y_TALKS)
        silent = np.zeros(FRAMES, dtype=bool)
        local = (y, x, silent) if w in swapped else (x, y, silent)
        windows.append(np.stack(local, axis=1))
    data = np.stack(windows).astype(np.float32)
    return Windows(data, SlidingWindow(start=0.0, duration=DURATION, step=STEP))


def test_anchors_tile_the_call_once_and_include_the_end():
    anchors = _anchor_windows(_segmentations(set()))
    assert np.flatnonzero(anchors).tolist() == [0, 5, 10]  # 0-10 s, 10-20 s, 20-30 s


def test_windows_between_anchors_take_the_clusters_of_the_voices_they_share():
    between = {1, 2, 3, 4, 6, 7, 8, 9}
    segmentations = _segmentations(swapped={2, 3, 7})
    anchors = _anchor_windows(segmentations)
    clusters = np.full((11, 3), -2)
    for a in (0, 5, 10):  # clustering named X 0 and Y 1 in the anchors (which are not swapped)
        clusters[a, :2] = (0, 1)
    stitched = _stitch(segmentations, clusters, anchors)
    for w in between:
        x_local, y_local = (1, 0) if w in {2, 3, 7} else (0, 1)
        window_start = w * STEP
        if _active(window_start, X_TALKS).any():
            assert stitched[w, x_local] == 0, f"window {w}: X"
        if _active(window_start, Y_TALKS).any():
            assert stitched[w, y_local] == 1, f"window {w}: Y"
    assert (stitched[:, 2] == -2).all()  # a silent local speaker takes no cluster
    assert (stitched[[0, 5, 10]] == clusters[[0, 5, 10]]).all()  # anchors keep theirs


def test_a_voice_no_anchor_speaks_with_is_left_for_its_own_embedding():
    segmentations = _segmentations(set())
    # 11-12 s: silence for X and Y everywhere; a third voice there, heard only by window 3
    for w in range(11):
        first, last = max(0, int((11.0 - w * STEP) * 10)), int((12.0 - w * STEP) * 10)
        if 0 < last <= FRAMES:
            segmentations.data[w, first:last, :] = 0
    segmentations.data[3, 50:60, 2] = 1
    anchors = _anchor_windows(segmentations)
    clusters = np.full((11, 3), -2)
    for a in (0, 5, 10):
        clusters[a, :2] = (0, 1)
    assert _stitch(segmentations, clusters, anchors)[3, 2] == -2
