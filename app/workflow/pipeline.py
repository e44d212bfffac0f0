"""The analysis pipeline of one recording: segmentation -> contours -> measurements.

`analyze_recording(recording, segmenter=None, cancel=None)` is a cancellable generator: it yields
`Progress(fraction, message)` and finally one `RecordingAnalysis`; when `cancel` fires it stops without a
result. `run_to_completion(gen)` drains it.

A segmenter is any callable taking the Recording (and, if it accepts it, `cancel=`) and returning, or
generating as its last item, one of: labels (T, H, W) / (S, T, H, W); a (labels, confidence) tuple; an
object with `.labels` and optionally `.confidence` (e.g. app.ml.inference.EchoSegmentation, the phantom's
truth). Progress items it yields (with fraction/message, or done/total) are passed on, scaled.
Defaults: echo -> app.ml.inference.segment_recording with DEFAULT_ECHO_MODEL; short-axis MRI ->
app.ml.mri_inference.segment_stack. Both are imported lazily, inside the function. `default_segmenter(recording,
model, hysteresis)` also builds the echo one for another network or with label hysteresis (analyze
--model/--hysteresis, the viewer's steady contours); a segmenter's __name__ says which, for the results and
the report.

DEFAULT_ECHO_MODEL is the per-frame U-Net ("base"), not the ConvLSTM network: measured end to end, the
temporal network's smoother contours still under-estimate EF a little more (CAMUS valid monoplane EF against
the expert masks, `evaluate echo-seg`: bias base -0.5 points, temporal -2.4, mean absolute error 5.6 both;
phantom clips, `evaluate volumes`: base -1.4 +- 2.1, temporal -2.7 +- 2.5), because its memory damps the
systolic excursion, though it segments better (LV Dice 0.935 vs 0.931) and flickers less. Volumes and EF
come first; the temporal network stays available (`analyze --model temporal`, the streaming API of
app.ml.inference).

ED/ES frames (app.workflow.edes_step.model_ed_es): TempReg-Net (models/ed_es, app.ml.edes) with clip-end
events from the volume curve ("tempreg"), or the extrema of the volume curve ("area_curve") when the model
is missing or fails; RecordingAnalysis.ed_es_method / ed_es_fallback say which and why.

View check (app.workflow.view_step): when models/view is installed, 2D echo clips are classified and
`extra["view_check"]` holds the predicted view and a warning when it confidently disagrees; the
recording's own view (user / DICOM) is never replaced.
"""

from __future__ import annotations

import inspect
from typing import Callable, Iterator

import numpy as np

from app.analysis.contours import extract_contours
from app.analysis.rv import rv_outline
from app.tasks import is_cancelled
from app.data.recording import Recording
from app.ml import DEFAULT_ECHO_MODEL  # the light package file only: no torch, no OpenCV
from app.workflow.edes_step import model_ed_es
from app.workflow.stack_phases import is_single_phase
from app.workflow.measure import SHORT_AXIS_VIEWS, measure_recording
from app.workflow.view_step import view_check
from app.workflow.results import (
    ED_ES_AREA_CURVE,
    FLAG_LOW_CONFIDENCE,
    AnalysisError,
    FrameContours,
    Progress,
    RecordingAnalysis,
)

SEGMENTATION_SHARE = 0.8  # of the progress bar
LONG_AXIS_VIEWS = ("a4c", "a2c", "a3c", "plax")  # refused on cine MR: the MRI model is short-axis only
Segmenter = Callable[..., object]


def contour_kind(recording: Recording) -> str:
    """'short-axis' for MRI and parasternal short-axis echo, else 'long-axis' (apical views)."""
    if recording.modality == "mri" or recording.view in SHORT_AXIS_VIEWS:
        return "short-axis"
    return "long-axis"


# -- default segmenters ---------------------------------------------------------------------------
def default_segmenter(recording: Recording, model: str = DEFAULT_ECHO_MODEL,
                      hysteresis: float = 0.0) -> tuple[Segmenter, str]:
    """(segmenter, name) for the recording: the MRI network for MRI; for echo the network `model` ("base" or
    "temporal"), with label hysteresis when `hysteresis` > 0 (echo_segmenter). The segmenter raises
    AnalysisError when its model is not installed."""
    if recording.modality == "mri":
        return _mri_segmenter, _mri_segmenter.__name__
    segmenter = _echo_segmenter if (model, hysteresis) == (DEFAULT_ECHO_MODEL, 0.0) else echo_segmenter(model, hysteresis)
    return segmenter, segmenter.__name__


def _weights_error(exc: Exception, folder: str) -> AnalysisError:
    return AnalysisError(f"segmentation model not installed or unusable: models/{folder} ({exc})")


def echo_segmenter(model: str = DEFAULT_ECHO_MODEL, hysteresis: float = 0.0) -> Segmenter:
    """A segmenter running the echo network `model` ("base" or "temporal"), with label hysteresis
    (app/ml/hysteresis.py) when `hysteresis` > 0; AnalysisError when the model is not installed."""

    def segment(recording: Recording, cancel=None):
        try:
            from app.ml.inference import segment_recording
        except ImportError as exc:  # pragma: no cover - the ML package is part of the app
            raise AnalysisError(f"echo segmentation is not available in this build: {exc}") from exc
        from app.ml.weights import WeightsError

        try:
            yield from segment_recording(recording, model, cancel=cancel, hysteresis_margin=hysteresis)
        except (WeightsError, FileNotFoundError) as exc:
            raise _weights_error(exc, f"echo_seg_{model}") from exc

    segment.__name__ = f"echo_seg_{model}" + (f" + label hysteresis {hysteresis:g}" if hysteresis > 0 else "")
    return segment  # the name is what results, JSON and the report show as the segmenter


_echo_segmenter = echo_segmenter()


def _mri_segmenter(recording: Recording, cancel=None):
    try:
        from app.ml.mri_inference import segment_stack
    except ImportError as exc:  # pragma: no cover
        raise AnalysisError(f"MRI segmentation is not available in this build: {exc}") from exc
    from app.ml.weights import WeightsError

    try:
        for item in segment_stack(recording, cancel=cancel):
            if hasattr(item, "labels") and not recording.is_stack:
                lab = np.asarray(item.labels)
                conf = np.asarray(item.confidence)
                yield (lab[0] if lab.ndim == 4 else lab, conf[0] if conf.ndim == 2 else conf)
            else:
                yield item
    except (WeightsError, FileNotFoundError) as exc:
        raise _weights_error(exc, "mri_seg") from exc


_mri_segmenter.__name__ = "mri_seg"  # the name results and the report show


# -- running a segmenter ----------------------------------------------------------------------------
def _progress_fraction(item) -> float | None:
    if isinstance(item, Progress) or (hasattr(item, "fraction") and not hasattr(item, "labels")):
        return float(item.fraction)
    if hasattr(item, "done") and hasattr(item, "total"):
        return float(item.done) / max(1, int(item.total))
    return None


def _run_segmenter(segmenter: Segmenter, recording: Recording, cancel) -> Iterator[Progress | tuple]:
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
        fraction = _progress_fraction(item)
        if fraction is not None:
            message = getattr(item, "message", "") or getattr(item, "stage", "") or "segmenting"
            yield Progress(SEGMENTATION_SHARE * min(max(fraction, 0.0), 1.0), str(message))
        else:
            result = item
    if result is not None:
        yield ("result", result)


def segmenter_flags(result) -> dict[int, tuple[str, ...]]:
    """Per-frame flags a segmenter reported (flagged_frames + flag_reasons), as quality flag names."""
    frames = getattr(result, "flagged_frames", None)
    reasons = getattr(result, "flag_reasons", None)
    if not frames or reasons is None:
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for t, why in zip(frames, reasons):
        flags = []
        for part in str(why).split(";"):
            part = part.strip()
            if not part or part.startswith("no LV"):  # the contour step flags missing cavities itself
                continue
            flags.append(FLAG_LOW_CONFIDENCE if part.startswith("low confidence") else f"segmenter: {part}")
        if flags:
            out[int(t)] = tuple(flags)
    return out


def _unpack(result, recording: Recording) -> tuple[np.ndarray, np.ndarray]:
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


# -- the pipeline ------------------------------------------------------------------------------------
def analyze_recording(
    recording: Recording,
    *,
    segmenter: Segmenter | None = None,
    cancel=None,
    segmenter_name: str = "",
) -> Iterator[Progress | RecordingAnalysis]:
    """Segment, extract contours and measure one recording (see the module docstring)."""
    if recording.n_frames < 1:
        raise AnalysisError("the recording has no frame")
    if recording.is_stack and recording.modality != "mri":
        raise AnalysisError("only MRI short-axis stacks can be analysed slice by slice")
    if recording.modality == "mri" and recording.view in LONG_AXIS_VIEWS:
        raise AnalysisError(f"long-axis cine MR ({recording.view.upper()}) is not supported: the MRI model segments "
                            "short-axis slices; open the short-axis stack")
    name = segmenter_name or getattr(segmenter, "__name__", type(segmenter).__name__ if segmenter else "")
    if segmenter is None:
        segmenter, name = default_segmenter(recording)
    yield Progress(0.0, "segmenting")
    result = None
    for item in _run_segmenter(segmenter, recording, cancel):
        if isinstance(item, Progress):
            yield item
        else:
            result = item[1]
    if is_cancelled(cancel):
        return
    if result is None:
        raise AnalysisError("the segmenter returned no labels")
    labels, confidence = _unpack(result, recording)
    flags = segmenter_flags(result)

    kind = contour_kind(recording)
    with_rv = recording.modality == "mri"  # label 3 is the RV on short-axis MRI (the LA on echo)
    stack = labels if recording.is_stack else labels[None]
    n_total = stack.shape[0] * stack.shape[1]
    per_slice = []
    for s, slice_labels in enumerate(stack):
        frames, rv = [], []
        for t, frame in enumerate(slice_labels):
            if is_cancelled(cancel):
                return
            frames.append(extract_contours(frame, kind))
            if with_rv:
                rv.append(rv_outline(frame))
            done = s * stack.shape[1] + t + 1
            if done % 10 == 0 or done == n_total:
                yield Progress(SEGMENTATION_SHARE + 0.15 * done / n_total, "tracing contours")
        per_slice.append(FrameContours.of(frames, rv if any(r is not None for r in rv) else ()))
    contours = tuple(per_slice) if recording.is_stack else per_slice[0]
    yield Progress(0.96, "finding end-diastole and end-systole")
    try:
        measurements = measure_recording(recording, contours, confidence=confidence, frame_flags=flags)
        ed, es, method, fallback = model_ed_es(recording, measurements)
        if method != ED_ES_AREA_CURVE:
            yield Progress(0.99, "measuring")
            measurements = measure_recording(recording, contours, ed_frames=ed, es_frames=es,
                                             confidence=confidence, frame_flags=flags)
    except ValueError as exc:
        raise AnalysisError(f"measurement failed: {exc}") from exc
    if is_cancelled(cancel):
        return
    extra = {"segmenter_flags": flags} if flags else {}
    check = view_check(recording)  # advice only: the recording's (user's / DICOM) view is kept
    if check is not None:
        extra["view_check"] = check
    yield Progress(1.0, "done")
    yield RecordingAnalysis(recording, labels, contours, confidence, measurements, segmenter=str(name),
                            extra=extra, ed_es_method=method, ed_es_fallback=fallback)


def run_to_completion(generator, on_progress: Callable[[Progress], None] | None = None):
    """Drain an analysis generator: its final result (RecordingAnalysis), or None if it was cancelled."""
    result = None
    for item in generator:
        if isinstance(item, Progress):
            if on_progress is not None:
                on_progress(item)
        else:
            result = item
    return result
