"""The segmenting step of the analysis (app.workflow.analyze): segmentation -> labels -> contours.

`segment_and_trace(recording, segmenter, cancel)` is a task (app.tasks): Progress, then one `Traced`
(labels, confidence, the segmenter's per-frame flags, the contours). Each frame's contours are published as
soon as they are traced (Progress.partial = app.analysis.partial.TracedFrame), during segmentation for a
segmenter that publishes its final frames (FrameLabels), so the viewer draws contours frame by frame.

A segmenter is a callable taking the Recording (and, if it accepts it, `cancel=`) and returning, or
generating as its last item after Progress items, one of: labels (T, H, W) / (S, T, H, W); a
(labels, confidence) tuple; a segmentation with `.labels` and `.confidence` (app.ml.inference.EchoSegmentation,
app.ml.mri_inference.MriSegmentation, the phantom's truth). Defaults: echo -> app.ml.inference.segment_recording
with DEFAULT_ECHO_MODEL; short-axis MRI -> app.ml.mri_inference.segment_stack, both imported lazily.
`default_segmenter(recording, model, hysteresis)` also builds the echo one for another network or with label
hysteresis (analyze --model/--hysteresis, the viewer's steady contours); a segmenter's __name__ says which,
for the results and the report.

DEFAULT_ECHO_MODEL is the per-frame U-Net ("base"), not the ConvLSTM network: measured end to end, the
temporal network's smoother contours still under-estimate EF a little more (CAMUS valid monoplane EF against
the expert masks, `evaluate echo-seg`: bias base -0.5 points, temporal -2.4, mean absolute error 5.6 both;
phantom clips, `evaluate volumes`: base -1.4 +- 2.1, temporal -2.7 +- 2.5), because its memory damps the
systolic excursion, though it segments better (LV Dice 0.935 vs 0.931) and flickers less. Volumes and EF
come first; the temporal network stays available (`analyze --model temporal`, the streaming API of
app.ml.inference).
"""

from __future__ import annotations

import inspect
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import numpy as np

from app.analysis.analysis_grid import GridGeometry, contours_to_recording
from app.analysis.contours import Kind, extract_contours
from app.analysis.partial import FrameLabels, TracedFrame
from app.analysis.rv import rv_outline
from app.data.recording import Recording
from app.ml import DEFAULT_ECHO_MODEL  # the light package file only: no torch, no OpenCV
from app.tasks import Cancel, Progress, is_cancelled
from app.workflow.lv_curves import SHORT_AXIS_VIEWS
from app.workflow.results import FLAG_LOW_CONFIDENCE, AnalysisError, FrameContours

SEGMENTATION_SHARE = 0.85  # of this step's progress; the rest is tracing contours
Segmenter = Callable[..., object]


@dataclass(frozen=True, eq=False)
class Traced:
    """What the segmenting step gives: labels (T, H, W) / (S, T, H, W) uint8 0-3, confidence (T,) (NaN when the
    segmenter gives none), the segmenter's per-frame flags {frame: flag names}, the contours
    (FrameContours, or one per slice for a stack), and {(slice, frame): border} of the RV regions the segmenter
    left out as right atrium (app/ml/mri_basal_rv.py), and how the network ran ("int8 on ONNX Runtime"; "" when the
    segmenter does not say)."""

    labels: np.ndarray
    confidence: np.ndarray
    segmenter_flags: dict[int, tuple[str, ...]]
    contours: FrameContours | tuple[FrameContours, ...]
    rv_left_out: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    inference: str = ""


def contour_kind(recording: Recording) -> Kind:
    """'short-axis' for MRI and parasternal short-axis echo, else 'long-axis' (apical views)."""
    if recording.modality == "mri" or recording.view in SHORT_AXIS_VIEWS:
        return "short-axis"
    return "long-axis"


# -- default segmenters ---------------------------------------------------------------------------
def default_segmenter(recording: Recording, model: str = DEFAULT_ECHO_MODEL,
                      hysteresis: float = 0.0) -> tuple[Segmenter, str]:
    """(segmenter, name) for the recording: the MRI network for MRI; for echo the network `model` ("base" or
    "temporal"), with label hysteresis when `hysteresis` > 0 (echo_segmenter), and the site's own fine-tune of it
    where one passed its check and is switched on (app/ml/site_model.py). The segmenter raises AnalysisError
    when its model is not installed."""
    if recording.modality == "mri":
        return _mri_segmenter, _mri_segmenter.__name__
    from app.ml.site_model import active_site_model

    site = active_site_model(f"echo_seg_{model}")
    if site is not None:
        segmenter = echo_segmenter(model, hysteresis, site_root=site.folder.parent, site_label=site.label)
    elif (model, hysteresis) == (DEFAULT_ECHO_MODEL, 0.0):
        segmenter = _echo_segmenter
    else:
        segmenter = echo_segmenter(model, hysteresis)
    return segmenter, segmenter.__name__


def _weights_error(exc: Exception, folder: str) -> AnalysisError:
    return AnalysisError(f"segmentation model not installed or unusable: models/{folder} ({exc})")


def echo_segmenter(model: str = DEFAULT_ECHO_MODEL, hysteresis: float = 0.0, site_root: Path | None = None,
                   site_label: str = "") -> Segmenter:
    """A segmenter running the echo network `model` ("base" or "temporal"), from site_root (a site model's
    models folder, named by site_label) or the installed models, with label hysteresis (app/ml/hysteresis.py)
    when `hysteresis` > 0; AnalysisError when the model is not installed."""

    def segment(recording: Recording, cancel: Cancel = None) -> Iterator[object]:
        try:
            from app.ml.inference import segment_recording
        except ImportError as exc:  # pragma: no cover - the ML package is part of the app
            raise AnalysisError(f"echo segmentation is not available in this build: {exc}") from exc
        from app.ml.weights import WeightsError

        try:
            yield from segment_recording(recording, model, cancel=cancel, hysteresis_margin=hysteresis,
                                         models_root=site_root)
        except (WeightsError, FileNotFoundError) as exc:
            raise _weights_error(exc, f"echo_seg_{model}") from exc

    segment.__name__ = (f"echo_seg_{model}" + (f" + {site_label}" if site_label else "")
                        + (f" + label hysteresis {hysteresis:g}" if hysteresis > 0 else ""))
    return segment  # the name is what results, JSON and the report show as the segmenter


_echo_segmenter = echo_segmenter()


def _mri_segmenter(recording: Recording, cancel: Cancel = None) -> Iterator[object]:
    try:
        from app.ml.mri_inference import segment_stack
    except ImportError as exc:  # pragma: no cover
        raise AnalysisError(f"MRI segmentation is not available in this build: {exc}") from exc
    from app.ml.weights import WeightsError

    try:
        for item in segment_stack(recording, cancel=cancel):
            if not isinstance(item, Progress) and not recording.is_stack:
                lab = np.asarray(item.labels)
                conf = np.asarray(item.confidence)
                # one slice: its labels and confidence, and how the networks ran (no basal-slice findings)
                yield replace(item, labels=lab[0] if lab.ndim == 4 else lab, confidence=conf[0] if conf.ndim == 2
                              else conf, atrial_rv=(), borderline_rv=())
            else:
                yield item
    except (WeightsError, FileNotFoundError) as exc:
        raise _weights_error(exc, "mri_seg") from exc


_mri_segmenter.__name__ = "mri_seg"  # the name results and the report show


# -- running a segmenter ----------------------------------------------------------------------------
def _run_segmenter(segmenter: Segmenter, recording: Recording, cancel: Cancel
                   ) -> Iterator[Progress | tuple[str, object]]:
    """Yield scaled Progress, then ('result', value); nothing more when cancelled."""
    try:
        accepts_cancel = "cancel" in inspect.signature(segmenter).parameters
    except (TypeError, ValueError):
        accepts_cancel = False
    out = segmenter(recording, cancel=cancel) if accepts_cancel else segmenter(recording)
    if not inspect.isgenerator(out) and not isinstance(out, Iterator):
        yield ("result", out)
        return
    result = None
    for item in out:
        if is_cancelled(cancel):
            return
        if isinstance(item, Progress):
            yield Progress(SEGMENTATION_SHARE * min(max(item.fraction, 0.0), 1.0), item.message or "segmenting",
                           item.partial)
        else:
            result = item
    if result is not None:
        yield ("result", result)


def segmenter_flags(result: object) -> dict[int, tuple[str, ...]]:
    """Per-frame flags a segmenter reported (flagged_frames + flag_reasons), as quality flag names."""
    frames = getattr(result, "flagged_frames", None)
    reasons = getattr(result, "flag_reasons", None)
    if not frames or reasons is None:
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for t, why in zip(frames, reasons, strict=False):
        flags = []
        for part in str(why).split(";"):
            part = part.strip()
            if not part or part.startswith("no LV"):  # the contour step flags missing cavities itself
                continue
            flags.append(FLAG_LOW_CONFIDENCE if part.startswith("low confidence") else f"segmenter: {part}")
        if flags:
            out[int(t)] = tuple(flags)
    return out


def _unpack(result: Any, recording: Recording) -> tuple[np.ndarray, np.ndarray]:
    """(labels uint8 in the recording's shape, confidence (T,)) from a segmenter's result."""
    if isinstance(result, tuple) and len(result) == 2:
        labels, confidence = result
    elif hasattr(result, "labels"):
        labels, confidence = result.labels, getattr(result, "confidence", None)
    else:
        labels, confidence = result, None
    labels = np.asarray(labels)
    expected = recording.frames.shape
    if labels.shape != expected:
        raise AnalysisError(f"the segmenter returned labels of shape {labels.shape}; expected {expected}")
    if labels.size and (labels.min() < 0 or labels.max() > 3):
        raise AnalysisError(f"labels must be 0-3, got values up to {labels.max()}")
    labels = labels.astype(np.uint8, copy=False)
    conf = np.full(recording.n_frames, np.nan)
    if confidence is not None:
        c = np.asarray(confidence, dtype=np.float64)
        if c.ndim == 2 and c.shape[1] == recording.n_frames:  # (S, T): mean over slices with an LV
            has_lv = (labels == 1).any(axis=(-1, -2)) if labels.ndim == 4 else np.ones_like(c, bool)
            c = np.array([c[has_lv[:, t], t].mean() if has_lv[:, t].any() else np.nan for t in range(c.shape[1])])
        if c.shape == (recording.n_frames,):
            conf = c
    return labels, conf


# -- the step ----------------------------------------------------------------------------------------
def segment_and_trace(recording: Recording, segmenter: Segmenter, cancel: Cancel = None
                      ) -> Iterator[Progress | Traced]:
    """Segment the recording and trace every frame's contours (see the module docstring). Each frame's contours
    are published as they are traced (Progress.partial = TracedFrame): while the segmenter runs for the frames
    it says are final (FrameLabels), else while tracing; a frame whose labels changed after it was published is
    traced again, so the result is the same as tracing the final labels."""
    kind = contour_kind(recording)
    with_rv = recording.modality == "mri"  # label 3 is the RV on short-axis MRI (the LA on echo)
    early: dict[tuple[int, int], tuple[int, TracedFrame]] = {}  # traced while segmenting: (labels checksum, frame)
    result = None
    for item in _run_segmenter(segmenter, recording, cancel):
        if not isinstance(item, Progress):
            result = item[1]
            continue
        done = item.partial
        if isinstance(done, FrameLabels) and done.labels.shape == recording.image_shape:
            plane = done.labels if done.grid_labels is None else done.grid_labels
            traced = trace_frame(plane, done.slice_index, done.frame, kind, with_rv, done.geometry)
            early[traced.key] = (_checksum(plane), traced)
            yield Progress(item.fraction, item.message, traced)
        else:
            yield Progress(item.fraction, item.message)
    if is_cancelled(cancel):
        return
    if result is None:
        raise AnalysisError("the segmenter returned no labels")
    labels, confidence = _unpack(result, recording)
    grid = _analysis_grid(result, labels)
    contours = yield from _trace_all(recording, labels if grid is None else grid[0], kind, with_rv, early, cancel,
                                     None if grid is None else grid[1])
    if contours is not None:
        yield Traced(labels, confidence, segmenter_flags(result), contours, rv_left_out(result),
                     str(getattr(result, "inference", "") or ""))


def rv_left_out(result: object) -> dict[tuple[int, int], np.ndarray]:
    """{(slice, frame): (N, 2) border} of the RV regions a segmentation left out as right atrium (its atrial_rv)."""
    regions = getattr(result, "atrial_rv", ())
    return {(r.slice_index, r.phase): r.outline_px for r in regions if r.outline_px is not None}


def _analysis_grid(result: object, labels: np.ndarray) -> tuple[np.ndarray, GridGeometry] | None:
    """(labels on the analysis grid, its geometry) when the segmenter gives them for a single-slice clip
    (app.ml.inference.EchoSegmentation), else None: the contours are then traced on the recording's grid."""
    grid, geometry = getattr(result, "grid_labels", None), getattr(result, "grid_geometry", None)
    if grid is None or geometry is None or labels.ndim != 3 or len(grid) != len(labels):
        return None
    return np.asarray(grid), geometry


def trace_frame(labels: np.ndarray, slice_index: int, frame: int, kind: Kind, with_rv: bool,
                geometry: GridGeometry | None = None) -> TracedFrame:
    """One frame's contours (and RV border when `with_rv`) from its labels: (H, W) on the recording's grid, or
    on the analysis grid placed by `geometry` (contours mapped to the recording's pixels)."""
    if geometry is not None:
        return TracedFrame(slice_index, frame, contours_to_recording(extract_contours(labels, kind), geometry), None)
    return TracedFrame(slice_index, frame, extract_contours(labels, kind), rv_outline(labels) if with_rv else None)


def _checksum(labels: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(labels, dtype=np.uint8).data)


def _trace_all(recording: Recording, labels: np.ndarray, kind: Kind, with_rv: bool,
               early: dict[tuple[int, int], tuple[int, TracedFrame]], cancel: Cancel,
               geometry: GridGeometry | None = None
               ) -> Generator[Progress, None, FrameContours | tuple[FrameContours, ...] | None]:
    """Every frame's contours (FrameContours, one per slice for a stack), reusing the frames traced while
    segmenting when their labels are unchanged; None when cancelled. `labels` are on the analysis grid placed
    by `geometry` when it is given."""
    stack = labels if recording.is_stack else labels[None]
    n_total = stack.shape[0] * stack.shape[1]
    per_slice = []
    for s, slice_labels in enumerate(stack):
        frames, rv = [], []
        for t, frame in enumerate(slice_labels):
            if is_cancelled(cancel):
                return None
            known = early.get((s, t))
            fresh = known is None or known[0] != _checksum(frame)
            traced = trace_frame(frame, s, t, kind, with_rv, geometry) if known is None or fresh else known[1]
            frames.append(traced.contours)
            rv.append(traced.rv_px)
            done = s * stack.shape[1] + t + 1
            if fresh or done % 10 == 0 or done == n_total:
                yield Progress(SEGMENTATION_SHARE + (1 - SEGMENTATION_SHARE) * done / n_total, "tracing contours",
                               traced if fresh else None)
        per_slice.append(FrameContours.of(frames, rv if any(r is not None for r in rv) else ()))
    return tuple(per_slice) if recording.is_stack else per_slice[0]
