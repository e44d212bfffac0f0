"""What the analysis pipeline returns and what the measurements are: frozen dataclasses + JSON.

- `Progress(fraction, message)`: app.tasks.Progress, re-exported (every task's progress).
- `AnalysisError`: analysis cannot run (model not installed, unsupported recording); one clear line.
- `FrameContours`: per frame `LvContours` or None, for one 2D+t recording or one slice of a stack.
- `Measurements`: volumes / EF / ED-ES / beats of one recording (or the biplane combination).
- `RecordingAnalysis`: labels, contours, confidence, flags and measurements of one recording.
- `StudyMeasurements`: per recording + biplane when A4C and A2C are both present.

Every `to_json_dict()` returns plain JSON types (lists, floats rounded, None for missing values).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.analysis.beats import Beat
from app.analysis.contours import LvContours
from app.analysis.edes_fusion import CURVE_METHOD, FUSED_METHOD, TEMPREG_METHOD
from app.analysis.slice_coverage import SliceCoverage
from app.analysis.strain import StrainResult
from app.data.recording import NON_APICAL_LONG_AXIS_VIEWS, Recording
from app.tasks import Progress  # noqa: F401 - the one progress report, re-exported for the workflow's callers
from app.workflow.indexed import indexed_json
from app.workflow.saved_strain import SavedStrain
from app.workflow.view_step import ViewCheck, view_json

Method = Literal["monoplane", "biplane", "slice-summation", "single-slice"]

# Where a RecordingAnalysis' ED/ES frames come from (RecordingAnalysis.ed_es_method)
ED_ES_TEMPREG = TEMPREG_METHOD  # TempReg-Net (clip-end events from the LV curve when it has some)
ED_ES_FUSED = FUSED_METHOD  # TempReg-Net, each ES refined on the segmented LV curve
ED_ES_AREA_CURVE = CURVE_METHOD  # extrema of the segmented LV volume/area curve
ED_ES_MANUAL = "manual"  # set by hand in the viewer (a restored study)
ED_ES_RESTORED = "restored"  # as saved in a restored study
HR_FROM_BEATS = "beats"  # the trusted beats' ED-to-ED length
HR_FROM_FILE = "file"  # the file's own HeartRate (the scanner's ECG), where no trusted beat gives one
HR_FROM_GATED_CYCLE = "gated cycle"  # a gated cine: phases x phase interval is one RR

# Per-frame quality flags (Measurements.quality / RecordingAnalysis.quality)
FLAG_NO_CONTOUR = "no-contour"  # segmentation found no LV cavity
FLAG_LOW_CONFIDENCE = "low-confidence"  # the segmenter's confidence is below its threshold
FLAG_AREA_JUMP = "area-jump"  # cavity area changes implausibly versus both neighbours
FLAG_SPURIOUS = "spurious-blobs"  # extra blobs were removed or stray islands relabelled in the label map
FLAG_CAVITY_SPLIT = "cavity-split"  # the LV cavity came in pieces (one kept): its volume is not to be trusted
FLAG_DAMAGED_PIXELS = "damaged-pixels"  # the file's image data of this frame is damaged (readers/pixel_damage.py)
FLAG_NO_LA = "no-la"
FLAG_NO_MYOCARDIUM = "no-myocardium"
FLAG_EDITED = "edited"  # contours of this frame were edited by hand


class AnalysisError(Exception):
    """The analysis cannot run: one clear line for the CLI (exit 2) and the viewer (a message box)."""


class NotAnalyzableError(AnalysisError):
    """The recording is not one the analysis takes (app.workflow.analyze.refusal: a colour Doppler clip, a
    long-axis cine MR): nothing failed, so a batch leaves it out with the reason instead of counting a failure."""


def _num(value: Any, ndigits: int = 2) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, ndigits) if np.isfinite(value) else None


def _curve(values: Any, ndigits: int = 3) -> list[float | None] | None:
    return None if values is None else [_num(v, ndigits) for v in np.asarray(values, dtype=float)]


@dataclass(frozen=True, eq=False)
class FrameContours:
    """Contours of every frame of one 2D+t series: `frames[t]` is an LvContours or None.

    rv: on a short-axis MRI slice, `rv[t]` is the closed RV border (N, 2) of frame t or None (app.analysis.rv);
    empty for echo. The RV is kept apart from the LV's contours: basal slices can hold RV without LV.
    """

    frames: tuple[LvContours | None, ...]
    rv: tuple[np.ndarray | None, ...] = ()

    @classmethod
    def of(cls, items: Sequence[LvContours | None], rv: Sequence[np.ndarray | None] = ()) -> "FrameContours":
        return cls(tuple(items), tuple(rv))

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, t: int) -> LvContours | None:
        return self.frames[t]

    def __iter__(self) -> Iterator[LvContours | None]:
        return iter(self.frames)

    def with_frame(self, t: int, contours: LvContours | None) -> "FrameContours":
        """A copy with frame t replaced (for manual edits)."""
        items = list(self.frames)
        items[t] = contours
        return FrameContours(tuple(items), self.rv)

    def to_json_dict(self) -> list[dict[str, Any] | None]:
        return [None if c is None else c.to_json_dict() for c in self.frames]

    @classmethod
    def from_json_dict(cls, data: list[dict[str, Any] | None]) -> "FrameContours":
        return cls(tuple(None if d is None else LvContours.from_json_dict(d) for d in data))


@dataclass(frozen=True, eq=False)
class Measurements:
    """Volumes and function of one recording (or of an A4C + A2C pair when method == 'biplane').

    Volumes are None when the recording is uncalibrated (then `area_curve_px2` and EF from the ratio of
    disk volumes in pixel units are still given). Curves are (T,) float arrays with NaN where a frame has
    no contour. `quality[t]` lists the flags of frame t (FLAG_* constants). `edited` names the values that
    depend on a manual edit (e.g. {"contours", "ed_frames", "es_frames", "edv_ml", "ef_pct"}).
    """

    method: Method
    view: str
    calibrated: bool
    n_frames: int
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    beats: tuple[Beat, ...]
    edv_ml: float | None
    esv_ml: float | None
    sv_ml: float | None
    ef_pct: float | None
    heart_rate_bpm: float | None
    volume_curve_ml: np.ndarray | None
    area_curve_px2: np.ndarray
    area_curve_mm2: np.ndarray | None = None
    length_curve_mm: np.ndarray | None = None
    edv_area_length_ml: float | None = None
    esv_area_length_ml: float | None = None
    lv_mass_g: float | None = None
    edited: frozenset[str] = frozenset()
    quality: tuple[tuple[str, ...], ...] = ()
    source: str = ""  # file the measurement came from ("" for a biplane combination)
    notes: tuple[str, ...] = ()  # caveats for the user, e.g. uncalibrated, nominal frame timing
    fac_pct: float | None = None  # fractional area change, method "single-slice" (one short-axis slice)
    # right ventricle, short-axis MRI stacks (slice summation at the LV's ED/ES phases: app.workflow.rv_measure)
    rv_edv_ml: float | None = None
    rv_esv_ml: float | None = None
    rv_sv_ml: float | None = None
    rv_ef_pct: float | None = None
    rv_volume_curve_ml: np.ndarray | None = None
    # where heart_rate_bpm comes from (HR_FROM_*): the trusted beats' length, the file's own value (the
    # scanner's ECG), or a gated cine's phases x phase interval; "" when there is none
    heart_rate_source: str = ""
    # short-axis stacks: the end slices' LV cavity at ED, how far the stack reaches (app.analysis.slice_coverage)
    slice_coverage: SliceCoverage | None = None

    @property
    def flagged_frames(self) -> tuple[int, ...]:
        return tuple(t for t, flags in enumerate(self.quality) if flags)

    def lv_curve(self) -> tuple[np.ndarray | None, str]:
        """The (T,) LV curve to plot and its unit: the volume ("ml"), else the cavity area ("cm²" when
        calibrated, "px²" when not), or (None, "") when there is neither."""
        if self.volume_curve_ml is not None:
            return np.asarray(self.volume_curve_ml, float), "ml"
        if self.area_curve_mm2 is not None:
            return np.asarray(self.area_curve_mm2, float) / 100.0, "cm²"
        if self.area_curve_px2 is not None:
            return np.asarray(self.area_curve_px2, float), "px²"
        return None, ""

    def with_edited(self, names: Iterable[str]) -> "Measurements":
        return replace(self, edited=frozenset(self.edited) | frozenset(names))

    def to_json_dict(self) -> dict[str, Any]:
        volumes_known = self.volume_curve_ml is not None or self.edv_ml is not None
        return {
            "method": self.method,
            "view": self.view,
            "calibrated": self.calibrated,
            "frames": self.n_frames,
            "ed_frames": list(self.ed_frames),
            "es_frames": list(self.es_frames),
            "edv_ml": _num(self.edv_ml),
            "esv_ml": _num(self.esv_ml),
            "sv_ml": _num(self.sv_ml),
            "ef_pct": _num(self.ef_pct),
            "fac_pct": _num(self.fac_pct),
            "heart_rate_bpm": _num(self.heart_rate_bpm, 1),
            "heart_rate_source": self.heart_rate_source or None,
            "edv_area_length_ml": _num(self.edv_area_length_ml),
            "esv_area_length_ml": _num(self.esv_area_length_ml),
            "lv_mass_g": _num(self.lv_mass_g, 1),
            "myocardial_mass_g": _num(self.lv_mass_g, 1),  # the MRI name of the same value (issue 9)
            "beats": [_beat_json(b, volumes_known, self.method, self.view) for b in self.beats],
            "volume_curve_ml": _curve(self.volume_curve_ml),
            "area_curve": _curve(self.area_curve_px2, 2),
            "area_curve_unit": "px2",
            "area_curve_mm2": _curve(self.area_curve_mm2, 2),
            "length_curve_mm": _curve(self.length_curve_mm, 2),
            "edited": sorted(self.edited),
            "quality": [list(flags) for flags in self.quality],
            "flagged_frames": list(self.flagged_frames),
            "source": self.source,
            "notes": list(self.notes),
            "rv_edv_ml": _num(self.rv_edv_ml),
            "rv_esv_ml": _num(self.rv_esv_ml),
            "rv_sv_ml": _num(self.rv_sv_ml),
            "rv_ef_pct": _num(self.rv_ef_pct),
            "rv_volume_curve_ml": _curve(self.rv_volume_curve_ml),
            "slice_coverage": None if self.slice_coverage is None else self.slice_coverage.to_json_dict(),
            **self._phase_volumes_json(),
        }

    def _phase_volumes_json(self) -> dict[str, Any]:
        """One-phase stacks (a 3D volume of slices): that phase's LV and RV volumes, as there is no EDV/ESV."""
        if self.method != "slice-summation" or self.n_frames != 1:
            return {}
        lv = None if self.volume_curve_ml is None else self.volume_curve_ml[0]
        rv = None if self.rv_volume_curve_ml is None else self.rv_volume_curve_ml[0]
        return {"lv_volume_ml": _num(lv), "rv_volume_ml": _num(rv)}


def _beat_json(beat: Beat, volumes_known: bool, method: str, view: str = "") -> dict[str, Any]:
    """A beat's JSON; on one short-axis slice its (EDA - ESA) / EDA is a fractional area change, not an EF."""
    data: dict[str, Any] = beat.to_json_dict(volumes_known)
    if method == "single-slice":
        data["fac_pct"] = data.pop("ef_pct", None)
    elif view in NON_APICAL_LONG_AXIS_VIEWS:  # no EF, per beat either (a clip set to PLAX after its analysis)
        data["ef_pct"] = None
    return data


@dataclass(frozen=True, eq=False)
class RecordingAnalysis:
    """Everything the analysis (app.workflow.analyze) produced for one recording.

    labels: (T, H, W) uint8 (or (S, T, H, W) for a stack) in the recording's pixel grid, 0-3.
    contours: FrameContours (2D+t) or a tuple of FrameContours, one per slice (stack).
    confidence: (T,) float 0..1 per frame (NaN when the segmenter gives none).
    segmenter_flags: the segmenter's own per-frame flags {frame: names}, measured into `quality` (and again
    when re-measuring after an edit).
    ed_es_method: where measurements.ed_frames/es_frames come from (ED_ES_*); ed_es_fallback: why the
    ED/ES model was not used ("" when it was).
    strain: the StrainResult (SavedStrain when restored from the autosave), else None; strain_error: why
    strain is missing where it applies; strain_view_warning: strain ran on a view the classifier disputes;
    strain_requested: False when the user asked for no strain (analyze --no-strain): the report then says so
    rather than "not computed".
    view_check: the view classifier's opinion (None without a model, for MRI and stacks).
    rv_left_out: {(slice, frame): (N, 2) border} of the basal RV regions the segmenter left out as right atrium
    (short-axis MRI stacks, app/ml/mri_basal_rv.py), which the viewer shows dashed.
    """

    recording: Recording
    labels: np.ndarray
    contours: FrameContours | tuple[FrameContours, ...]
    confidence: np.ndarray
    measurements: Measurements
    segmenter: str = ""
    segmenter_flags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    ed_es_method: str = ED_ES_AREA_CURVE
    ed_es_fallback: str = ""
    strain: StrainResult | SavedStrain | None = None
    strain_error: str = ""
    strain_view_warning: str = ""
    strain_requested: bool = True
    view_check: ViewCheck | None = None
    rv_left_out: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @property
    def source_path(self) -> Path | None:
        return self.recording.source_path

    @property
    def quality(self) -> tuple[tuple[str, ...], ...]:
        return self.measurements.quality

    @property
    def flagged_frames(self) -> tuple[int, ...]:
        return self.measurements.flagged_frames

    def measure_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the measuring step that keep the segmenter's per-frame flags when re-measuring
        after an edit: app.workflow.analyze.measure(rec, contours, ..., **analysis.measure_kwargs())."""
        return {"confidence": self.confidence, "segmenter_flags": self.segmenter_flags or None}

    def with_measurements(self, measurements: Measurements) -> "RecordingAnalysis":
        return replace(self, measurements=measurements)

    def to_json_dict(self, include_contours: bool = False) -> dict[str, Any]:
        rec = self.recording
        out: dict[str, Any] = {
            "file": str(rec.source_path) if rec.source_path else None,
            "modality": rec.modality,
            "view": rec.view,
            "calibrated": rec.calibrated,
            "frames": rec.n_frames,
            "slices": rec.n_slices,
            "spacing_mm": [float(s) for s in rec.spacing_mm],
            "frame_rate_hz": _num(rec.known_frame_rate_hz, 3),  # null for nominal timing, as the report's "unknown"
            "segmenter": self.segmenter,
            "ed_es_method": self.ed_es_method,
            "ed_es_fallback": self.ed_es_fallback or None,
            "confidence": _curve(self.confidence, 4),
        }
        out.update({k: v for k, v in self.measurements.to_json_dict().items() if k not in out})
        out["sex"] = rec.patient.sex or None  # the file's or typed (analyze --sex): the normal ranges' sex
        out.update(indexed_json(self.measurements, rec.patient))
        out["view"] = rec.view
        if include_contours:
            if isinstance(self.contours, FrameContours):
                out["contours"] = self.contours.to_json_dict()
            else:
                out["contours"] = [fc.to_json_dict() for fc in self.contours]
        if isinstance(self.strain, StrainResult):
            out.update(self.strain.to_json_dict())
        if self.strain_error:
            out["strain_error"] = self.strain_error
        if self.strain_view_warning:
            out["strain_view_warning"] = self.strain_view_warning
        out.update(view_json(self.view_check))
        return out


@dataclass(frozen=True, eq=False)
class StudyMeasurements:
    """Per-recording measurements of one study plus the biplane combination (A4C + A2C) when possible."""

    recordings: tuple[Measurements, ...]
    biplane: Measurements | None = None

    @property
    def primary(self) -> Measurements | None:
        """The figure to report: biplane when available, else the first apical or only recording."""
        if self.biplane is not None:
            return self.biplane
        return self.recordings[0] if self.recordings else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "recordings": [m.to_json_dict() for m in self.recordings],
            "biplane": None if self.biplane is None else self.biplane.to_json_dict(),
        }
