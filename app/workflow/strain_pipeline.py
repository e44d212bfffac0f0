"""Myocardial strain of an apical recording (Østvik et al.): centerline + dense motion + Kalman fusion.

Per beat (ED to the next ED) the 120 centerline points start on the segmentation centerline at ED and
are tracked frame by frame: the dense motion field (masked to the myocardium) gives each point's
displacement; the segmentation centerline of the next frame gives its position (the motion-predicted
point projected onto that centerline; the two end points are the annulus ends of the centerline).
A constant-acceleration Kalman filter fuses z = [x, y, vx, vy]. Frames before the first ED are tracked
backwards from it. Tracking quality per point is the distance between the motion-predicted point and
the segmentation centerline, plus the drift of the tracked points from the next ED's centerline.
Drift compensation (default on): the heart is back in its end-diastolic state at the next ED, so the
points' drift from that ED's centerline is removed linearly in time over the beat, as in commercial
speckle tracking. A last beat without a following ED is left uncompensated.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Iterator, Sequence

import cv2
import numpy as np

from app.ahead import run_ahead
from app.analysis.analysis_grid import GridGeometry
from app.analysis.centerline import (
    CAVITY_LABEL,
    MYOCARDIUM_LABEL,
    N_CENTERLINE_POINTS,
    centerline_from_labels,
    project_onto_polyline,
)
from app.analysis.kalman import KalmanParams, PointTracker
from app.analysis.masks import label_box
from app.analysis.motion_classical import ClassicalFlow, masked_velocity
from app.analysis.strain import StrainResult, size_equivalent_scale, strain_from_tracks
from app.data.recording import Recording
from app.tasks import Cancel, Progress, is_cancelled, run_task
from app.workflow.results import AnalysisError

MOTIONS = ("classical", "learned")
VELOCITY_SIGMA_PX = 3.0
# Motion is estimated on the box around the labelled heart of the whole clip plus this margin (wider than the
# DIS patches and the velocity smoothing), not on the whole sector: the same wall motion at a third of the cost.
FLOW_MARGIN_PX = 32
# Classical flow runs on a grid of at least this pixel size: the DIS parameters were chosen on phantom clips of
# about 0.6 mm pixels, and finer grids cost 4x per halving of the pixel without a better wall motion. The motion
# of a calibrated clip (flow and the myocardium mask it is averaged over) stays on that grid (strain_grid); the
# centerlines, the tracked points and the Kalman filter are in the recording's pixels.
FLOW_SPACING_MM = 0.6


def make_flow_estimator(motion: str, spacing_mm: tuple[float, float] | None = None
                        ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The (first, second) -> (H, W, 2) flow callable for 'classical' (OpenCV DIS) or 'learned'. With the
    pixel size (calibrated recordings), classical flow runs on a grid of FLOW_SPACING_MM pixels or finer."""
    if motion == "classical":
        scale = 1.0 if spacing_mm is None else min(1.0, float(np.mean(spacing_mm)) / FLOW_SPACING_MM)
        return ClassicalFlow("dis", scale=scale)
    if motion == "learned":
        from app.ml.motion import load_learned_flow  # torch only when asked for
        from app.ml.weights import WeightsError

        try:
            return load_learned_flow()
        except WeightsError as exc:
            raise AnalysisError(f"learned motion is not available: {exc}") from exc
    raise AnalysisError(f"unknown motion estimator {motion!r}; expected one of {', '.join(MOTIONS)}")


class UnitFrames:
    """Frames t of one slice as float32 0..1, inside a box, made one at a time (no float copy of the clip):
    uint8 video is only rescaled (no percentile pass over the clip), other data comes from frames_unit. With a
    `shape` (rows, cols) each frame is area-resized to it (the strain grid)."""

    def __init__(self, recording: Recording, slice_index: int, box: tuple[slice, slice],
                 shape: tuple[int, int] | None = None):
        self._recording, self._slice, self._box = recording, slice_index, box
        self._raw = recording.slice_frames(slice_index)
        self._shape = shape
        self._last: tuple[int, np.ndarray] | None = None  # tracking asks for each frame twice in a row

    def __len__(self) -> int:
        return int(self._raw.shape[0])

    def __getitem__(self, t: int) -> np.ndarray:
        if self._last is not None and self._last[0] == t:
            return self._last[1]
        frame = self._frame(t)
        self._last = (t, frame)
        return frame

    def _frame(self, t: int) -> np.ndarray:
        frame: np.ndarray
        if self._raw.dtype == np.uint8:
            frame = self._raw[t][self._box] * np.float32(1.0 / 255.0)
        else:
            frame = self._recording.frames_unit(self._slice, frames=(t, *self._box))
        if self._shape is None or frame.shape == self._shape:
            return frame
        resized: np.ndarray = cv2.resize(frame, self._shape[::-1], interpolation=cv2.INTER_AREA)
        return resized


def unit_frames(recording: Recording, slice_index: int) -> np.ndarray:
    """(T, H, W) float32 0..1; uint8 video is only rescaled (no percentile pass over the clip)."""
    frames = UnitFrames(recording, slice_index, (slice(None), slice(None)))
    return np.stack([frames[t] for t in range(len(frames))]) if len(frames) else np.zeros((0, 0, 0), np.float32)


def strain_grid(box: tuple[slice, slice], spacing_mm: tuple[float, float] | None) -> GridGeometry:
    """The grid strain runs on: the box at FLOW_SPACING_MM pixels or finer (the recording's pixels when the
    clip is not calibrated or is coarser), as ClassicalFlow sizes its grid."""
    rows, cols = box[0].stop - box[0].start, box[1].stop - box[1].start
    scale = 1.0 if spacing_mm is None else min(1.0, float(np.mean(spacing_mm)) / FLOW_SPACING_MM)
    shape = (max(int(round(rows * scale)), 8), max(int(round(cols * scale)), 8)) if scale < 1.0 else (rows, cols)
    return GridGeometry((box[0].start, box[0].stop, box[1].start, box[1].stop), shape)


def _centerline(labels: np.ndarray, max_ray_px: float | None = None) -> np.ndarray:
    """(H, W) labels -> the (N, 2) centerline, NaN where the frame has no usable myocardium. Traced on the box of
    its cavity and myocardium (plus a 2-pixel margin: the borders see the same pixels; the box starts on even
    pixels, so half-pixel border points round to even the same way)."""
    box = label_box((labels == CAVITY_LABEL) | (labels == MYOCARDIUM_LABEL), 2)
    if box is None:
        return np.full((N_CENTERLINE_POINTS, 2), np.nan)
    rows, cols = (slice(b.start - b.start % 2, b.stop) for b in box)
    try:
        line = centerline_from_labels(labels[rows, cols], max_ray_px=max_ray_px).points_px
    except (ValueError, IndexError):  # no usable myocardium in this frame: motion-only there
        return np.full((N_CENTERLINE_POINTS, 2), np.nan)
    return line + np.array([cols.start, rows.start], np.float64)


class _Centerlines:
    """Each frame's segmentation centerline in the recording's pixels, traced when first asked for: the tracking
    asks in its own order while the motion of the next frames is estimated ahead (app/ahead.py). Traced on the
    recording's grid: on the strain grid they move GLS by 0.3-1 point (20-frame clip), on the analysis grid
    (app/analysis/analysis_grid.py) by -0.2 to +1.1 (four 454 x 487 phantom clips)."""

    def __init__(self, labels: np.ndarray, box: tuple[slice, slice], max_ray_px: float):
        self._labels, self._max_ray_px = labels, max_ray_px
        self._offset = np.array([box[1].start, box[0].start], np.float64)
        self._lines: dict[int, np.ndarray] = {}

    def __getitem__(self, t: int) -> np.ndarray:
        if t not in self._lines:
            self._lines[t] = _centerline(self._labels[t], self._max_ray_px) + self._offset
        return self._lines[t]


def _motion(estimator: Callable[[np.ndarray, np.ndarray], np.ndarray], frames: UnitFrames,
            pairs: list[tuple[int, int]]) -> Generator[np.ndarray, None, None]:
    """The flow of each (from, to) frame pair, in order: estimated ahead in a thread of its own (app/ahead.py) when
    OpenCV may use two threads or more, so that it runs beside the centerlines and the Kalman filter, which hold
    the GIL; inline otherwise (a batch worker pinned to one core). Only this generator reads `frames`."""
    def step(pair: tuple[int, int]) -> np.ndarray:
        return estimator(frames[pair[0]], frames[pair[1]])

    if cv2.getNumThreads() >= 2:
        return run_ahead(step, pairs)
    return (step(pair) for pair in pairs)


class _Tracker:
    """One direction of tracking from a start frame; owns the Kalman filter and the disagreement."""

    def __init__(self, start_px: np.ndarray, spacing_mm: tuple[float, float], params: KalmanParams,
                 grid: GridGeometry, anchor_ends: bool = True):
        self.kf = PointTracker(start_px, params)
        self.anchor_ends = anchor_ends
        self.scale = np.array([spacing_mm[1], spacing_mm[0]])
        self.grid = grid
        self.grid_px = np.array(grid.scale_xy)  # recording pixels per strain-grid pixel (x, y)

    def step(self, flow: np.ndarray, mask: np.ndarray, target_line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance one frame: flow and mask on the strain grid, points and target line in the recording's
        pixels. Returns (positions (N, 2), disagreement (N,) mm)."""
        pos = self.kf.positions_px
        sigma_px = VELOCITY_SIGMA_PX / float(self.grid_px.mean())
        disp = masked_velocity(flow, mask, self.grid.to_grid_px(pos), sigma_px) * self.grid_px
        predicted = pos + disp
        self.kf.predict()
        if np.isnan(target_line).any():  # no segmentation: motion only
            return self.kf.update(predicted, disp), np.full(len(pos), np.nan)
        z_pos, _ = project_onto_polyline(predicted, target_line)
        if self.anchor_ends:
            z_pos[0], z_pos[-1] = target_line[0], target_line[-1]
        disagreement = np.linalg.norm((predicted - z_pos) * self.scale, axis=1)
        return self.kf.update(z_pos, disp), disagreement


def compute_strain(
    recording: Recording,
    labels: np.ndarray,
    ed_frames: Sequence[int],
    *,
    es_frames: Sequence[int] = (),
    motion: str = "classical",
    cancel: Cancel = None,
    flow_estimator: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    kalman: KalmanParams = KalmanParams(),
    anchor_ends: bool = True,
    drift_compensation: bool = True,
    slice_index: int = 0,
) -> Iterator[Progress | StrainResult]:
    """Generator: yields Progress, finally the StrainResult (or stops early when `cancel` is set).

    recording: apical 2D+t recording; labels: (T, H, W) 0-3 label maps (2 = myocardium, 1 = cavity);
    ed_frames / es_frames: end-diastole / end-systole frame indices; motion: 'classical' | 'learned'
    (or pass a flow_estimator); cancel: threading.Event or callable returning True to stop.
    """
    labels = np.asarray(labels)
    frames_shape = recording.slice_frames(slice_index).shape
    if labels.shape != frames_shape:
        raise AnalysisError(f"labels {labels.shape} do not match the frames {frames_shape}")
    n = frames_shape[0]
    eds = sorted({int(e) for e in ed_frames if 0 <= int(e) < n})
    if not eds or n < 3:
        raise AnalysisError("strain needs at least 3 frames and one end-diastolic frame")
    estimator = flow_estimator or make_flow_estimator(motion)  # on frames already at the strain grid
    box = label_box(np.asarray(labels.any(axis=0)), FLOW_MARGIN_PX) or (slice(0, frames_shape[1]),
                                                                        slice(0, frames_shape[2]))
    grid = strain_grid(box, recording.spacing_mm if recording.calibrated else None)
    frames = UnitFrames(recording, slice_index, box, grid.shape)
    labels = labels[:, box[0], box[1]]
    yield Progress(0.0, "strain: centerlines")
    lines = _Centerlines(labels, box, max_ray_px=0.35 * max(frames_shape[1:]))
    rows, cols = grid.nearest_box_pixels()
    myocardium = labels[:, rows[:, None], cols[None, :]] == MYOCARDIUM_LABEL  # the mask the flow is averaged over
    bad_ed = [e for e in eds if np.isnan(lines[e]).any()]
    if bad_ed:
        raise AnalysisError(f"no myocardium centerline at end-diastole frame(s) {bad_ed}")
    yield Progress(0.05, "strain: tracking")
    tracked = np.full((n, N_CENTERLINE_POINTS, 2), np.nan)
    disagreement = np.full(tracked.shape[:2], np.nan)
    drift = []
    steps_done, total_steps = 0, max(n - 1, 1)
    # (start, stop, direction): forward per beat, backward before the first ED
    runs = [(e, (eds[i + 1] if i + 1 < len(eds) else n - 1), +1) for i, e in enumerate(eds)]
    if eds[0] > 0:
        runs.append((eds[0], 0, -1))
    flows = _motion(estimator, frames, [(t, t + d) for start, stop, d in runs for t in range(start, stop, d)])
    try:
        for start, stop, direction in runs:
            tracker = _Tracker(lines[start], recording.spacing_mm, kalman, grid, anchor_ends)
            tracked[start] = lines[start]
            disagreement[start] = 0.0
            for t in range(start, stop, direction):
                if is_cancelled(cancel):
                    return
                pos, dis = tracker.step(next(flows), myocardium[t], lines[t + direction])
                nxt = t + direction
                if direction > 0 and nxt == stop and nxt in eds:  # next ED: drift, not a tracked frame
                    delta = pos - lines[nxt]
                    drift.append(np.linalg.norm(delta * tracker.scale, axis=1))
                    if drift_compensation:
                        frac = (np.arange(start, stop) - start) / float(stop - start)
                        tracked[start:stop] -= frac[:, None, None] * delta[None]
                else:
                    tracked[nxt], disagreement[nxt] = pos, dis
                steps_done += 1
                yield Progress(0.05 + 0.9 * steps_done / total_steps, "strain: tracking")
    finally:
        flows.close()  # a motion thread stops with the task
    if drift:  # spread each point's end-of-beat drift over the beat as an extra disagreement term
        disagreement = np.sqrt(disagreement**2 + np.mean(drift, axis=0)[None, :] ** 2 / 4.0)
    if not recording.calibrated:  # nominal millimetres: judged as on a heart of median size
        disagreement = disagreement * size_equivalent_scale(np.stack([lines[e] for e in eds]), recording.spacing_mm)
    missing = np.isnan(tracked).any(axis=(1, 2))
    if missing.any():
        idx = np.flatnonzero(~missing)
        for k in range(tracked.shape[1]):
            for c in range(2):
                tracked[missing, k, c] = np.interp(np.flatnonzero(missing), idx, tracked[idx, k, c])
    result = strain_from_tracks(
        tracked,
        recording.spacing_mm,
        eds,
        disagreement,
        es_frames=es_frames,
        view=recording.view,
        motion=getattr(estimator, "name", motion),
    )
    yield Progress(1.0, "strain: done")
    yield result


def run_strain(recording: Recording, labels: np.ndarray, ed_frames: Sequence[int], **kwargs: Any) -> StrainResult:
    """compute_strain without progress: returns the StrainResult."""
    result = run_task(compute_strain(recording, labels, ed_frames, **kwargs))
    if result is None:
        raise AnalysisError("strain computation was cancelled")
    return result
