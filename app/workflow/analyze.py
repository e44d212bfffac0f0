"""THE analysis of one recording, for the viewer, the CLI and the batch runner alike.

load -> segment -> contours -> ED/ES -> measure (once) -> strain -> view check, as one cancellable task
(app.tasks): `analyze_recording(recording, ...)` yields Progress and finally one RecordingAnalysis; when
`cancel` fires it stops without a result. Partial results ride on the Progress (the viewer shows them as they
come): each frame's contours as traced (segment_step), then the analysis without strain once measured.
`analyze_file(path, options)` starts from the file (the batch runner); `load(path, options)` is the loading step alone
(the CLI loads every file of a study first, to check that they are one patient's). The viewer's edits re-enter at the
measuring step: `measure` is the one function that turns contours (the analysis' or the edited ones) and ED/ES frames
into Measurements.

- segmenting: app.workflow.segment_step (default networks, or a given segmenter / label map);
- ED/ES: TempReg-Net (app.ml.edes.predict_ed_es, models/ed_es) fused with the segmented LV curve and checked
  against it (app.analysis.edes_fusion.choose_ed_es); the curve's own extrema (app.analysis.edes_curve) when
  the model is missing, fails, or contradicts the curve: RecordingAnalysis.ed_es_method / ed_es_fallback. On a
  clip, whichever found the beats, each ES is then its beat's smallest measured volume and each ED the largest
  around it (app.analysis.beat_extremes: the ASE/EACVI convention for EF); a gated cine MR cycle (a stack or one
  slice), whichever found its ED and ES, has them at its phases of the largest and smallest LV volume
  (beat_extremes.at_cycle_extremes: the SCMR definition); a one- or two-phase stack gets the curve's events
  (app.workflow.measure.curve_events); pairs the beats show to be split beats are left out
  (beat_events.beat_events). `ed_es_step` is that one decision and always hands explicit frames to the
  measuring step, which only measures;
- measuring: app.workflow.lv_curves.trace_curves, then app.workflow.measure.measure_curves with the chosen ED/ES;
- strain: app.workflow.strain_step (apical echo clips);
- view check: app.workflow.view_step (advice only: the recording's own view is never replaced).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from app.analysis.beat_events import beat_events, without_split_pairs
from app.analysis.beat_extremes import at_beat_extremes, at_cycle_extremes
from app.analysis.edes_curve import without_spikes
from app.analysis.edes_fusion import EdEsChoice, choose_ed_es
from app.analysis.skipped_beats import with_skipped_beats
from app.data.recording import ECHO_VIEW_NAMES, Recording
from app.ml import DEFAULT_ECHO_MODEL  # the light package file only: no torch
from app.tasks import Cancel, Progress, is_cancelled, scaled
from app.workflow.frame_quality import spike_frames
from app.workflow.lv_curves import PLAX_NOTE, LvCurves, no_disks_view, no_slice_spacing, trace_curves
from app.workflow.measure import curve_beats, curve_events, measure_curves
from app.workflow.results import AnalysisError, Measurements, NotAnalyzableError, RecordingAnalysis
from app.workflow.segment_step import Segmenter, Traced, default_segmenter, segment_and_trace
from app.workflow.stack_phases import PHASE_PAIR_REASON, SINGLE_PHASE_REASON, is_phase_pair, is_single_phase
from app.workflow.strain_step import strain_applies, strain_step, why_no_strain
from app.workflow.view_step import view_check

LONG_AXIS_VIEWS = ("a4c", "a2c", "a3c", "plax")  # refused on cine MR: the MRI model is short-axis only
SEGMENT_SHARE, STRAIN_SHARE = 0.7, 0.25  # of the progress bar (without strain: segmenting 0.95)
# A clip too short for the ED/ES model (it reads at least 3 frames) says what its frames are instead
STILL_FRAME_REASON = "one still frame: no ED/ES"
FRAME_PAIR_REASON = "an ED/ES pair of frames"


@dataclass(frozen=True)
class AnalysisOptions:
    """How to load and analyze: view, body size and sex ('M' / 'F'; '' keeps the file's) override the file's; model /
    hysteresis pick the echo network (analyze --model / --hysteresis); strain with `motion` ("classical" or
    "learned")."""

    view: str | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    sex: str = ""
    series_key: str | None = None
    model: str = DEFAULT_ECHO_MODEL
    hysteresis: float = 0.0
    strain: bool = True
    motion: str = "classical"


def load(path: str | Path, options: AnalysisOptions = AnalysisOptions()) -> Recording:
    """The loading step: the recording in `path` with the options' view, body size and sex (LoadError on bad
    input)."""
    from app.data.readers import load_recording

    recording = load_recording(path, series_key=options.series_key, echo=options.view in ECHO_VIEW_NAMES)
    if options.view:
        recording = recording.with_view(options.view)
    return with_sex(with_body_size(recording, options.height_cm, options.weight_kg), options.sex)


def with_body_size(recording: Recording, height_cm: float | None, weight_kg: float | None) -> Recording:
    """The recording with the typed height/weight in its patient (each kept from the file when not given)."""
    if height_cm is None and weight_kg is None:
        return recording
    p = recording.patient
    patient = replace(p, height_cm=p.height_cm if height_cm is None else height_cm,
                      weight_kg=p.weight_kg if weight_kg is None else weight_kg)
    return replace(recording, patient=patient)


def with_sex(recording: Recording, sex: str) -> Recording:
    """The recording with the typed sex in its patient (analyze --sex: 'M' or 'F'), replacing the file's as a typed
    height or weight does; '' keeps the file's. The sex-specific normal ranges follow it."""
    if not sex:
        return recording
    return replace(recording, patient=replace(recording.patient, sex=sex))


def analyze_file(path: str | Path, options: AnalysisOptions = AnalysisOptions(), cancel: Cancel = None
                 ) -> Iterator[Progress | RecordingAnalysis]:
    """Load, then analyze with the options' network and strain (the batch runner's one call)."""
    yield Progress(0.0, "reading")
    recording = load(path, options)
    segmenter, name = default_segmenter(recording, options.model, options.hysteresis)
    yield from analyze_recording(recording, segmenter=segmenter, segmenter_name=name, strain=options.strain,
                                 motion=options.motion, cancel=cancel)


def analyze_recording(recording: Recording, *, segmenter: Segmenter | None = None, segmenter_name: str = "",
                      strain: bool = False, motion: str = "classical", cancel: Cancel = None
                      ) -> Iterator[Progress | RecordingAnalysis]:
    """Segment, trace, find ED/ES, measure once, add strain (when asked and it applies) and the view check."""
    check_supported(recording)
    if segmenter is None:
        segmenter, segmenter_name = default_segmenter(recording)
    name = segmenter_name or getattr(segmenter, "__name__", type(segmenter).__name__)
    with_strain = strain and strain_applies(recording)
    share = SEGMENT_SHARE if with_strain else 0.95
    yield Progress(0.0, "segmenting")
    traced: Traced | None = yield from scaled(segment_and_trace(recording, segmenter, cancel), 0.0, share)
    if traced is None or is_cancelled(cancel):
        return
    yield Progress(share, "finding end-diastole and end-systole")
    try:
        curves = trace_curves(recording, traced.contours, confidence=traced.confidence,
                              frame_flags=traced.segmenter_flags)
        choice = ed_es_step(recording, curves)
        yield Progress(share + 0.02, "measuring")
        measurements = measure_curves(recording, curves, choice.ed_frames, choice.es_frames)
    except ValueError as exc:
        raise AnalysisError(f"measurement failed: {exc}") from exc
    if is_cancelled(cancel):
        return
    # the segmenter's name, then how its network ran: one more " + " part (app/report/plain_words.py reads them)
    segmenter_text = f"{name} + {traced.inference}" if traced.inference else str(name)
    analysis = RecordingAnalysis(recording, traced.labels, traced.contours, traced.confidence, measurements,
                                 segmenter=segmenter_text, segmenter_flags=traced.segmenter_flags,
                                 ed_es_method=choice.method, ed_es_fallback=choice.fallback,
                                 view_check=view_check(recording), rv_left_out=traced.rv_left_out,
                                 strain_requested=strain)
    if with_strain:
        yield Progress(share + 0.03, "measured; tracking strain", analysis)  # the values, shown before the strain
        with_strain_done = yield from scaled(strain_step(analysis, motion, cancel), share + 0.03,
                                             share + 0.03 + STRAIN_SHARE)
        if with_strain_done is None or is_cancelled(cancel):
            return
        analysis = with_strain_done
    elif strain and (reason := why_no_strain(recording)):
        analysis = replace(analysis, strain_error=reason)
    yield Progress(1.0, "done")
    yield analysis


COLOUR_FLOW_REFUSAL = ("a colour Doppler clip: the colour hides the LV border, so no contours, volumes or EF are "
                       "measured on it; open the grey-scale (2D) clip of the same view")


def refusal(recording: Recording) -> str:
    """Why the analysis cannot take this recording (one line), or "" when it can."""
    if recording.n_frames < 1:
        return "the recording has no frame"
    if recording.is_stack and recording.modality != "mri":
        return "only MRI short-axis stacks can be analyzed slice by slice"
    if why := no_slice_spacing(recording):  # said before the segmentation of every slice, not after it
        return why
    if recording.image_mode == "colour Doppler":
        return COLOUR_FLOW_REFUSAL
    if recording.image_mode != "2D":
        return (f"a {recording.image_mode} display: no LV image to trace; open the grey-scale (2D) clip of the "
                "same view")
    if no_disks_view(recording):
        return PLAX_NOTE
    if recording.modality == "mri" and recording.view in LONG_AXIS_VIEWS:
        return (f"long-axis cine MR ({recording.view.upper()}) is not supported: the MRI model segments short-axis "
                "slices; open the short-axis stack")
    return ""


def check_supported(recording: Recording) -> None:
    """NotAnalyzableError (an AnalysisError, one line) for recordings the analysis cannot take."""
    if why := refusal(recording):
        raise NotAnalyzableError(why)


def ed_es_step(recording: Recording, curves: LvCurves) -> EdEsChoice:
    """The analysis' one ED/ES decision, always with explicit frames: TempReg-Net fused with the LV curve, or the
    curve's own events (app.workflow.measure.curve_events) with the reason (see the module docstring); on a clip
    (not a gated cycle, not a stack) each event then at its beat's extreme of the measured volume curve
    (at_clip_extremes); on a gated cine MR cycle ED and ES then at its largest and smallest LV volume
    (at_gated_cycle_extremes). The measuring step measures at these frames."""
    choice = at_clip_extremes(recording, curves, detect_ed_es_events(recording, curves))
    ed, es = choice.ed_frames, choice.es_frames
    if ed is None or es is None:
        found_ed, found_es = curve_events(recording, curves)
        ed, es = (found_ed if ed is None else ed), (found_es if es is None else es)
    ed, es = at_gated_cycle_extremes(recording, curves, ed, es)
    # An ED/ES pair the beats show to be a split beat, or a diastolic pair cut by the clip's end, is left out
    # (app.analysis.beat_events.beat_events): one ED and one ES per beat for the marks, the exports and strain.
    ed, es = beat_events(curve_beats(recording, curves, ed, es), ed, es)
    return replace(choice, ed_frames=ed, es_frames=es)


def at_clip_extremes(recording: Recording, curves: LvCurves, choice: EdEsChoice) -> EdEsChoice:
    """The choice's beats with ES at each beat's smallest measured volume and ED at its largest
    (app.analysis.beat_extremes, the ASE/EACVI convention for EF) on a 2D clip of 3 frames or more; the curve's
    own events are found here too (frames are never left for the measuring step to detect). A detected beat that
    spans two cycles or more gets the curve's own EDs inside it (skipped_beats.with_skipped_beats) and pairs that
    split a beat are left out (beat_events.without_split_pairs), so the extremes are those of single whole beats.
    A gated cine MR cycle or a stack keeps the choice as it is (ED/ES there: app.analysis.edes_fusion)."""
    if recording.is_stack or recording.is_gated_cycle or recording.n_frames < 3:
        return choice
    curve = without_spikes(np.asarray(curves.volume, dtype=np.float64), spike_frames(curves.quality))
    if np.isfinite(curve).sum() < 3:
        return choice
    ed, es = choice.ed_frames, choice.es_frames
    if ed is None or es is None:
        ed, es = curve_events(recording, curves)
    ed, es = with_skipped_beats(curve, ed, es, recording.frame_rate_hz)
    ed, es = without_split_pairs(curve, ed, es, recording.frame_rate_hz)
    ed, es = at_beat_extremes(curve, ed, es, recording.frame_rate_hz)
    return replace(choice, ed_frames=ed, es_frames=es)


def at_gated_cycle_extremes(recording: Recording, curves: LvCurves, ed: Sequence[int], es: Sequence[int]
                            ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """On a gated cine MR cycle of 3 phases or more (a stack or one slice), ED at the phase of the cycle's largest
    LV volume and ES at its smallest (beat_extremes.at_cycle_extremes, the SCMR definition), on the curve the
    detector was checked on (curves.ed_es_curve: the volume, or the cavity area of one slice; area-jump and
    cavity-split phases left out), whichever found the events: TempReg-Net's ED stays where the model put it and
    its ES slides only to the first dip of the curve (edes_fusion), a noisy plateau's local extreme. Anything else
    (an echo clip; a one- or two-phase stack, whose ED is already its larger LV) keeps the events as they are."""
    if not recording.is_gated_cycle or recording.n_frames < 3:
        return tuple(ed), tuple(es)
    return at_cycle_extremes(curves.ed_es_curve(recording), ed, es)


def detect_ed_es_events(recording: Recording, curves: LvCurves) -> EdEsChoice:
    """The detector's events fused with the LV curve, or the curve's fall-back with the reason (frames None).
    TempReg-Net is imported lazily: torch stays inside app/ml."""
    if is_phase_pair(recording):
        return EdEsChoice.curve(PHASE_PAIR_REASON)
    if is_single_phase(recording):
        return EdEsChoice.curve(SINGLE_PHASE_REASON)
    if recording.n_frames == 1:
        return EdEsChoice.curve(STILL_FRAME_REASON)
    if recording.n_frames == 2:
        return EdEsChoice.curve(FRAME_PAIR_REASON)
    try:
        from app.ml.edes import predict_ed_es
        from app.ml.weights import WeightsError
    except ImportError as exc:  # pragma: no cover - torch is part of the app
        return EdEsChoice.curve(f"ED/ES model unavailable in this build ({exc})")
    try:
        detection = predict_ed_es(recording)
    except (WeightsError, FileNotFoundError) as exc:
        return EdEsChoice.curve(f"ED/ES model not installed or unusable: models/ed_es ({exc})")
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to the curve, with the reason
        return EdEsChoice.curve(f"ED/ES model failed: {type(exc).__name__}: {exc}")
    return choose_ed_es(detection, curves.ed_es_curve(recording), recording.frame_rate_hz, recording.modality,
                        recording.is_gated_cycle)


def measure(recording: Recording, contours: Any, *, ed_frames: Sequence[int] | None = None,
            es_frames: Sequence[int] | None = None, edited: Iterable[str] = frozenset(),
            confidence: np.ndarray | None = None, segmenter_flags: Mapping[int, Sequence[str]] | None = None,
            edited_frames: Sequence[int] = (), rv_contours: Sequence[Sequence[np.ndarray | None]] | None = None
            ) -> Measurements:
    """The measuring step on its own: the viewer re-enters the analysis here after every edit (the contours as
    edited, the ED/ES frames as set), keeping the segmenter's per-frame flags."""
    curves = trace_curves(recording, contours, confidence=confidence, edited_frames=edited_frames,
                          frame_flags=segmenter_flags or None, rv_contours=rv_contours)
    return measure_curves(recording, curves, ed_frames, es_frames, edited)
