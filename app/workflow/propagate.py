"""Carry a contour correction to the neighbouring frames along the tissue motion.

The correction is the displacement of the edited contour from the automatic one (per control point, or,
when points were added or removed, from the old smooth curve to the closest point of the new one). Its
anchor points (the automatic contour's) are tracked frame by frame with the dense motion field (OpenCV
DIS, app/analysis/motion_classical.py, averaged over a band around the contour, on a crop around it),
so the correction stays on the same piece of wall while the heart moves. On each neighbouring frame
every control point of that frame's automatic contour takes the displacement interpolated at its
closest place on the tracked anchors, times a weight that blends from 1 at the edited frame to 0 just
beyond the range: w(k) = 0.5 * (1 + cos(pi * k / (n + 1))) at k frames of n on that side.
Propagation stops on a side at a frame without that contour or with a hand correction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from app.data.recording import Recording
from app.workflow.splines import DENSE_POINTS, ControlContour

BAND_PX = 6  # half-width of the band around the contour whose motion moves the anchors
CROP_MARGIN_PX = 24
FLOW_SIGMA_PX = 3.0


@dataclass(frozen=True)
class PropagationRange:
    """How many frames before and after the edited frame take the correction."""

    before: int
    after: int

    @property
    def empty(self) -> bool:
        return self.before <= 0 and self.after <= 0


def range_to_marks(frame: int, n_frames: int, marks: Sequence[int]) -> PropagationRange:
    """Up to, not including, the nearest ED/ES mark on each side (the clip's first/last frame without one)."""
    before = max((m for m in marks if m < frame), default=-1)
    after = min((m for m in marks if m > frame), default=n_frames)
    return PropagationRange(max(frame - before - 1, 0), max(after - frame - 1, 0))


def blend_weight(k: int, n: int) -> float:
    """Share of the correction k frames from the edited one, n frames taking it on that side."""
    return 0.5 * (1.0 + float(np.cos(np.pi * k / (n + 1)))) if 0 <= k <= n else 0.0


def correction(old: ControlContour, new: ControlContour) -> tuple[np.ndarray, np.ndarray]:
    """(anchors (M, 2), displacements (M, 2)): where the automatic contour was and how the edit moved it."""
    if len(old.points_px) == len(new.points_px):
        return old.points_px.copy(), new.points_px - old.points_px
    from app.analysis.centerline import project_onto_polyline

    anchors = np.array(old.dense(DENSE_POINTS))
    target = np.array(new.dense(DENSE_POINTS))
    if new.closed:
        target = np.vstack([target, target[:1]])
    closest, _ = project_onto_polyline(anchors, target)
    return anchors, closest - anchors


def interpolate_on_polyline(points_px: np.ndarray, polyline_px: np.ndarray, values: np.ndarray,
                            closed: bool) -> np.ndarray:
    """(N, C) values at the closest places of points (N, 2) on a polyline (M, 2) carrying values (M, C)."""
    line = np.asarray(polyline_px, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64)
    if closed:
        line, vals = np.vstack([line, line[:1]]), np.vstack([vals, vals[:1]])
    p = np.asarray(points_px, dtype=np.float64)[:, None, :]
    a, ab = line[None, :-1], np.diff(line, axis=0)[None]
    t = np.clip(np.sum((p - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), 1e-12), 0.0, 1.0)
    d2 = np.sum((a + t[..., None] * ab - p) ** 2, axis=-1)
    best = np.argmin(d2, axis=1)
    tb = t[np.arange(len(best)), best][:, None]
    out: np.ndarray = (1 - tb) * vals[best] + tb * vals[best + 1]
    return out


def _band_mask(shape: tuple[int, int], points_px: np.ndarray, closed: bool) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    pts = np.round(points_px).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(mask, [pts], closed, 1, thickness=2 * BAND_PX + 1)
    return mask.astype(bool)


def _crop_box(points_px: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) around the points with a margin, inside the image."""
    lo = np.floor(points_px.min(axis=0)).astype(int) - CROP_MARGIN_PX
    hi = np.ceil(points_px.max(axis=0)).astype(int) + CROP_MARGIN_PX + 1
    return max(lo[1], 0), min(hi[1], shape[0]), max(lo[0], 0), min(hi[0], shape[1])


def track_anchors(frames_unit: np.ndarray, start: int, steps: int, direction: int, anchors_px: np.ndarray,
                  closed: bool, estimator: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Anchor positions (M, 2) at start + k * direction for k = 1..steps, following the dense motion."""
    from app.analysis.motion_classical import masked_velocity

    r0, r1, c0, c1 = _crop_box(anchors_px, frames_unit.shape[1:])
    offset = np.array([c0, r0], dtype=np.float64)
    pos = np.asarray(anchors_px, dtype=np.float64) - offset
    out = []
    for k in range(steps):
        t = start + k * direction
        first, second = frames_unit[t, r0:r1, c0:c1], frames_unit[t + direction, r0:r1, c0:c1]
        flow = estimator(np.ascontiguousarray(first), np.ascontiguousarray(second))
        pos = pos + masked_velocity(flow, _band_mask(first.shape, pos, closed), pos, FLOW_SIGMA_PX)
        out.append(pos + offset)
    return out


def propagate_edit(frames_unit: np.ndarray, frame: int, old: ControlContour, new: ControlContour,
                   neighbour: Callable[[int], ControlContour | None], span: PropagationRange,
                   estimator: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                   ) -> dict[int, ControlContour]:
    """{frame: corrected contour} for the frames around `frame` (the edited one excluded).

    frames_unit: (T, H, W) 0..1 frames of the slice; neighbour(f): that frame's current contour of the
    same kind, or None where propagation must stop (no contour, or a hand correction there).
    """
    if not 0 <= frame < len(frames_unit):
        raise ValueError(f"frame {frame} is outside the {len(frames_unit)} frames given")
    if span.empty:
        return {}
    if estimator is None:
        from app.analysis.motion_classical import ClassicalFlow

        estimator = ClassicalFlow("dis")
    anchors, delta = correction(old, new)
    if not np.any(np.abs(delta) > 1e-9):
        return {}
    n_frames = len(frames_unit)
    out: dict[int, ControlContour] = {}
    for direction, n in ((-1, span.before), (1, span.after)):
        steps = min(n, frame if direction < 0 else n_frames - 1 - frame)
        targets = []
        for k in range(1, steps + 1):
            contour = neighbour(frame + direction * k)
            if contour is None:
                break
            targets.append(contour)
        if not targets:
            continue
        tracked = track_anchors(frames_unit, frame, len(targets), direction, anchors, old.closed, estimator)
        for k, (contour, where) in enumerate(zip(targets, tracked, strict=False), start=1):
            shift = interpolate_on_polyline(contour.points_px, where, delta, old.closed)
            out[frame + direction * k] = contour.with_points(contour.points_px + blend_weight(k, n) * shift)
    return out


def frames_window(recording: Recording, slice_index: int, first: int, last: int) -> np.ndarray:
    """(last - first + 1, H, W) float32 0..1 frames first..last of a slice (only those are converted:
    uint8 video rescaled, other data by the 1st-99.5th percentile of the window)."""
    native = recording.slice_frames(slice_index)[first:last + 1]
    if native.dtype == np.uint8:
        unit: np.ndarray = native.astype(np.float32) * np.float32(1.0 / 255.0)
        return unit
    data = native.astype(np.float32)
    lo, hi = np.percentile(data, [1.0, 99.5])
    scaled: np.ndarray = np.clip((data - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return scaled


def propagate_in_recording(recording: Recording, slice_index: int, frame: int, old: ControlContour, new: ControlContour,
                           neighbour: Callable[[int], ControlContour | None], span: PropagationRange,
                           estimator: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                           ) -> dict[int, ControlContour]:
    """`propagate_edit` on a recording's slice, reading only the frames the range covers."""
    first = max(frame - max(span.before, 0), 0)
    last = min(frame + max(span.after, 0), recording.n_frames - 1)
    if span.empty or last == first:
        return {}
    window = frames_window(recording, slice_index, first, last)
    out = propagate_edit(window, frame - first, old, new, lambda f: neighbour(f + first), span, estimator)
    return {f + first: c for f, c in out.items()}
