"""The per-frame results of one echo segmentation (`FrameStore`) and the result it makes (`EchoSegmentation`).

The network gives each frame's class probabilities on its square input; `FrameStore.store` brings them back to
the sector's box on the recording's grid (bilinear, background outside the sector) as labels and a confidence,
and, for the analysis, the same labels on the analysis grid (app.analysis.analysis_grid) without ever making the
full-size probabilities, unless they are kept or the label hysteresis needs them. app.ml.inference runs the
network over a recording; the lab's offline variants (lab/evaluation/offline_segmentation.py) store through it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.analysis.analysis_grid import GridGeometry
from app.analysis.partial import FrameLabels
from app.ml.frame_flags import flag_frames, frame_confidence
from app.ml.hysteresis import sticky_argmax
from app.ml.prob_grid import grid_labels, to_grid


@dataclass(frozen=True, eq=False)
class EchoSegmentation:
    """Result on the recording's pixel grid.

    labels: (T, H, W) uint8, 0 background, 1 LV cavity, 2 myocardium, 3 LA.
    probabilities: (T, 4, H, W) float16 or None (when not requested).
    confidence: (T,) float in 0..1 (mean max-probability over the predicted heart, times the
        forward/backward LV agreement when that pass ran).
    flagged_frames: frame indices likely wrong, with `flag_reasons` (same length) saying why.
    grid_labels: (T, h, w) uint8, the same labels on the analysis grid placed by `grid_geometry`
        (app.analysis.analysis_grid: where contours are traced), or None (label hysteresis or kept
        probabilities: the contours are then traced on `labels`).
    inference: how the network ran, in words (app.ml.inference.EchoSegmenter.inference).
    """

    labels: np.ndarray
    confidence: np.ndarray
    flagged_frames: tuple[int, ...]
    flag_reasons: tuple[str, ...]
    model: str
    input_size: int
    probabilities: np.ndarray | None = None
    grid_labels: np.ndarray | None = None
    grid_geometry: GridGeometry | None = None
    inference: str = ""  # how the network ran (EchoSegmenter.inference), "" when not said


class FrameStore:
    """Labels, confidence (and probabilities when kept) of a (T, H, W) slice, filled frame by frame.

    box: (row0, row1, col0, col1) of the sector's bounding box, the part the network saw (app.ml.inference
    network_frames); sector: (H, W) bool mask or None; size: the network's square input.
    """

    def __init__(self, shape: tuple[int, int, int], box: tuple[int, int, int, int], sector: np.ndarray | None,
                 size: int, keep_probabilities: bool = False, hysteresis_margin: float = 0.0):
        n, h, w = shape
        self.shape, self.box, self.sector, self.size = shape, box, sector, size
        self.crop_hw = (box[1] - box[0], box[3] - box[2])
        self.margin = hysteresis_margin
        self.labels = np.zeros((n, h, w), np.uint8)
        self.confidence = np.zeros(n, np.float32)
        self.probabilities = np.zeros((n, 4, h, w), np.float16) if keep_probabilities else None
        self._previous: np.ndarray | None = None  # the last stored frame's labels, for the hysteresis
        self._outside = None if sector is None else ~sector[box[0]:box[1], box[2]:box[3]]
        labels_only = self.probabilities is None and hysteresis_margin <= 0
        self.geometry = GridGeometry.for_box(box, size) if labels_only else None
        self.grid = np.zeros((n, *self.geometry.shape), np.uint8) if self.geometry is not None else None
        self._grid_outside = (None if self._outside is None or self.geometry is None
                              else self._outside[np.ix_(*self.geometry.nearest_box_pixels())])

    def to_recording_grid(self, net_probs: np.ndarray) -> np.ndarray:
        """(4, S, S) -> (4, H, W): back to the crop, pasted into background, sector respected."""
        _, h, w = self.shape
        box = self.box
        probs = np.zeros((4, h, w), np.float32)
        probs[0] = 1.0
        probs[:, box[0]:box[1], box[2]:box[3]] = to_grid(net_probs, self.crop_hw)
        if self.sector is not None:
            probs[1:, ~self.sector] = 0.0
            probs[0, ~self.sector] = 1.0
        return probs

    def store(self, t: int, net_probs: np.ndarray) -> None:
        """Frame t's (4, S, S) network probabilities as its labels and confidence (and probabilities)."""
        if self.grid is not None:
            return self._store_labels(t, net_probs)
        probs = self.to_recording_grid(net_probs)
        self.labels[t] = sticky_argmax(probs, self._previous, self.margin)
        self._previous = self.labels[t]
        self.confidence[t] = frame_confidence(probs, self.labels[t])
        if self.probabilities is not None:
            self.probabilities[t] = probs

    def _store_labels(self, t: int, net_probs: np.ndarray) -> None:
        """Labels and confidence only: interpolated where needed, on the recording's and the analysis grid."""
        assert self.geometry is not None and self.grid is not None
        box = self.box
        crop, peak = grid_labels(net_probs, self.crop_hw)
        self.grid[t] = grid_labels(net_probs, self.geometry.shape)[0]
        if self._outside is not None:
            crop[self._outside] = 0
            self.grid[t][self._grid_outside] = 0
        self.labels[t, box[0]:box[1], box[2]:box[3]] = crop
        heart = crop > 0
        self.confidence[t] = float(peak[heart].mean()) if heart.any() else 0.0

    def frame_labels(self, t: int, slice_index: int = 0) -> FrameLabels:
        """Frame t's stored labels for the viewer to draw (views into the arrays)."""
        return FrameLabels(t, self.labels[t], slice_index, None if self.grid is None else self.grid[t],
                           self.geometry)

    def result(self, model: str, inference: str = "") -> EchoSegmentation:
        """The segmentation of every stored frame, with the frames likely wrong flagged; `inference`: how the
        network ran (EchoSegmenter.inference)."""
        flagged, reasons = flag_frames(self.labels if self.grid is None else self.grid, self.confidence)
        return EchoSegmentation(self.labels, self.confidence, flagged, reasons, model, self.size,
                                self.probabilities, self.grid, self.geometry, inference)
