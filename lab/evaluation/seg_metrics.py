"""Segmentation metrics (numpy only), as functions and MONAI-style accumulating classes.

Label maps are integer arrays: (H, W) for one frame, (T, H, W) for a recording.
- dice(pred, truth, label): overlap of one class, 1.0 when both are empty.
- hausdorff_mm(pred, truth, label, spacing_mm): symmetric Hausdorff distance between the class
  boundaries in millimetres (inf when exactly one is empty, 0 when both are).
- mfip(labels): mean fraction of image pixels whose label changes between consecutive frames.
- label_reversals(labels): mean fraction of pixels whose label blips for one frame (differs from both
  neighbours, which agree): flicker proper. Smooth motion of the heart changes labels (mFIP counts it; the
  exact labels of a 30 Hz phantom cycle score 0.0085) but hardly ever reverses them within two frames.
- large_temporal_errors(labels, reference, reference_frames, spacing_mm): frames whose Hausdorff distance
  to the nearest annotated frame exceeds 30 mm (Smistad et al.'s large temporal error, LTE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

LTE_THRESHOLD_MM = 30.0
CLASS_NAMES = {1: "lv", 2: "myocardium", 3: "la"}


def _boundary(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (N, 2) row, col of mask pixels with a 4-neighbour outside the mask."""
    padded = np.pad(mask, 1)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return np.argwhere(mask & ~interior)


def dice(pred: np.ndarray, truth: np.ndarray, label: int) -> float:
    """Dice of class `label` between two label maps of equal shape."""
    p, t = pred == label, truth == label
    denom = int(p.sum()) + int(t.sum())
    return 1.0 if denom == 0 else 2.0 * float((p & t).sum()) / denom


def _directed_max(a: np.ndarray, b: np.ndarray, scale: np.ndarray, chunk: int = 2048) -> float:
    worst = 0.0
    bs = b * scale
    for start in range(0, len(a), chunk):
        d2 = (((a[start : start + chunk] * scale)[:, None, :] - bs[None, :, :]) ** 2).sum(-1)
        worst = max(worst, float(np.sqrt(d2.min(axis=1)).max()))
    return worst


def hausdorff_mm(
    pred: np.ndarray, truth: np.ndarray, label: int, spacing_mm: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Symmetric Hausdorff distance (mm) between the boundaries of class `label`."""
    a, b = _boundary(pred == label), _boundary(truth == label)
    if len(a) == 0 and len(b) == 0:
        return 0.0
    if len(a) == 0 or len(b) == 0:
        return float("inf")
    scale = np.asarray(spacing_mm, dtype=np.float64)
    return max(_directed_max(a, b, scale), _directed_max(b, a, scale))


def mfip(labels: np.ndarray, region: np.ndarray | None = None) -> float:
    """(T, H, W) labels -> mean over t of the fraction of pixels (inside `region` (H, W) if given) changing label."""
    if labels.shape[0] < 2:
        return 0.0
    return _fraction(labels[1:] != labels[:-1], region)


def label_reversals(labels: np.ndarray, region: np.ndarray | None = None) -> float:
    """(T, H, W) labels -> mean over 0 < t < T-1 of the fraction of pixels (inside `region` (H, W) if given)
    with labels[t-1] == labels[t+1] != labels[t]: one-frame label blips."""
    if labels.shape[0] < 3:
        return 0.0
    return _fraction((labels[:-2] == labels[2:]) & (labels[1:-1] != labels[:-2]), region)


def _fraction(flags: np.ndarray, region: np.ndarray | None) -> float:
    """Mean of (T, H, W) bool flags over frames and pixels (inside `region` (H, W) if given)."""
    return float((flags[:, region] if region is not None else flags).mean())


def max_class_hausdorff_mm(pred: np.ndarray, truth: np.ndarray, spacing_mm: tuple[float, float],
                           labels: Sequence[int] = (1, 2, 3)) -> float:
    """Largest per-class Hausdorff distance (mm) over the classes present in either map."""
    values = [hausdorff_mm(pred, truth, k, spacing_mm) for k in labels if (pred == k).any() or (truth == k).any()]
    return max(values) if values else 0.0


def large_temporal_errors(
    labels: np.ndarray,
    reference: np.ndarray,
    reference_frames: Sequence[int],
    spacing_mm: tuple[float, float],
    threshold_mm: float = LTE_THRESHOLD_MM,
) -> list[int]:
    """Frames t of labels (T, H, W) whose max-class Hausdorff to the nearest annotated frame exceeds threshold.

    reference: (R, H, W) annotations at frame indices reference_frames (R,). Returns the offending frames.
    """
    ref_idx = np.asarray(reference_frames)
    bad = []
    for t in range(labels.shape[0]):
        r = int(np.argmin(np.abs(ref_idx - t)))
        if max_class_hausdorff_mm(labels[t], reference[r], spacing_mm) > threshold_mm:
            bad.append(t)
    return bad


def consecutive_jumps(
    labels: np.ndarray, spacing_mm: tuple[float, float], threshold_mm: float = LTE_THRESHOLD_MM
) -> list[int]:
    """Unannotated recordings: frames t >= 1 whose max-class Hausdorff to frame t-1 exceeds threshold."""
    return [t for t in range(1, labels.shape[0])
            if max_class_hausdorff_mm(labels[t], labels[t - 1], spacing_mm) > threshold_mm]


@dataclass
class DiceMetric:
    """Accumulate per-class Dice over frames: `metric(pred, truth)`, then `aggregate()` -> {class: mean}."""

    labels: tuple[int, ...] = (1, 2, 3)
    values: dict[int, list[float]] = field(default_factory=dict)

    def __call__(self, pred: np.ndarray, truth: np.ndarray) -> dict[int, float]:
        out = {k: dice(pred, truth, k) for k in self.labels}
        for k, v in out.items():
            self.values.setdefault(k, []).append(v)
        return out

    def aggregate(self) -> dict[int, float]:
        return {k: float(np.mean(v)) for k, v in self.values.items()}

    def reset(self) -> None:
        self.values = {}


@dataclass
class HausdorffMetric:
    """Accumulate per-class Hausdorff (mm); aggregate() gives the mean over frames with finite values."""

    labels: tuple[int, ...] = (1, 2, 3)
    values: dict[int, list[float]] = field(default_factory=dict)

    def __call__(
        self, pred: np.ndarray, truth: np.ndarray, spacing_mm: tuple[float, float] = (1.0, 1.0)
    ) -> dict[int, float]:
        out = {k: hausdorff_mm(pred, truth, k, spacing_mm) for k in self.labels}
        for k, v in out.items():
            self.values.setdefault(k, []).append(v)
        return out

    def aggregate(self) -> dict[int, float]:
        result = {}
        for k, v in self.values.items():
            arr = np.asarray(v, dtype=np.float64)
            finite = arr[np.isfinite(arr)]
            result[k] = float(finite.mean()) if finite.size else float("inf")
        return result

    def reset(self) -> None:
        self.values = {}


@dataclass
class TemporalMetric:
    """Accumulate mFIP, label reversals and the large-temporal-error count over recordings."""

    fips: list[float] = field(default_factory=list)
    reversals: list[float] = field(default_factory=list)
    lte_recordings: int = 0
    n_recordings: int = 0

    def __call__(self, labels: np.ndarray, bad_frames: list[int], region: np.ndarray | None = None) -> float:
        value = mfip(labels, region)
        self.fips.append(value)
        self.reversals.append(label_reversals(labels, region))
        self.n_recordings += 1
        self.lte_recordings += int(len(bad_frames) > 0)
        return value

    def aggregate(self) -> dict[str, float]:
        def mean(values: list[float]) -> float:
            return float(np.mean(values)) if values else float("nan")

        return {"mfip": mean(self.fips), "reversals": mean(self.reversals),
                "lte": self.lte_recordings, "n": self.n_recordings}


def hausdorff_3d_mm(pred: np.ndarray, truth: np.ndarray, label: int, spacing_mm: Sequence[float]) -> float:
    """Symmetric Hausdorff distance (mm) between the surfaces of class `label` in two (S, H, W) label maps,
    spacing_mm = (slice, row, col); 0 when both are empty, inf when one is."""
    from scipy import ndimage

    a, b = pred == label, truth == label
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")
    surface_a = a & ~ndimage.binary_erosion(a)
    surface_b = b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing_mm)
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing_mm)
    return float(max(to_b[surface_a].max(), to_a[surface_b].max()))
