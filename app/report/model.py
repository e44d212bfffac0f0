"""What a report shows, as plain frozen data: built from the analyses once, then drawn or exported.

The PDF, the JSON/CSV exports and the batch summary all read these classes, so the numbers printed in
the PDF are exactly the numbers written to the JSON (`format_value` is the one place values are rounded
for display).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.data.recording import NON_APICAL_LONG_AXIS_VIEWS, PatientInfo, view_title

RESEARCH_NOTICE = "Research use only, not for diagnosis."
SUMMARY_KEYS = ("edv_ml", "esv_ml", "sv_ml", "ef_pct", "fac_pct", "gls_pct", "lv_mass_g", "heart_rate_bpm",
                "rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct", "bsa_m2", "edv_index_ml_m2", "esv_index_ml_m2",
                "sv_index_ml_m2", "lv_mass_index_g_m2", "rv_edv_index_ml_m2", "rv_esv_index_ml_m2",
                "rv_sv_index_ml_m2")  # the RV's SV too: page 1's check of LV against RV SV names both


@dataclass(frozen=True)
class MeasurementRow:
    """One line of the measurement table.

    key: machine name with unit (edv_ml, ef_pct, gls_pct ...); label: what the reader sees.
    value: None when not computed (shown as "not computed"). flag: "" or one of reference_ranges.FLAGS
    ("reduced": a strain above its limit).
    """

    key: str
    label: str
    value: float | None
    unit: str
    decimals: int = 1
    method: str = ""
    reference: str = ""
    flag: str = ""
    edited: bool = False
    grade: str = ""  # how abnormal a flagged value is, where the guideline grades it ("moderately"; ReferenceRange)

    @property
    def text(self) -> str:
        return format_value(self.value, self.decimals)



@dataclass(frozen=True)
class BeatRow:
    """One heart beat: frame indices and its volumes (ml, or None when uncalibrated)."""

    index: int
    ed_frame: int
    es_frame: int
    edv_ml: float | None
    esv_ml: float | None
    sv_ml: float | None
    ef_pct: float | None
    duration_s: float | None = None
    counted: bool = True  # in the reported EDV/ESV/EF (app.analysis.beat_trust): a trusted beat
    why_not_counted: str = ""
    fac_pct: float | None = None  # one short-axis slice: its (EDA - ESA) / EDA, in place of an EF


def beat_rows(m) -> list[BeatRow]:
    """The beats of a Measurements as the report and the viewer's beat table show them (volumes only when the
    recording is calibrated; a single short-axis slice's area change in place of an EF)."""
    rows = []
    volumes = m.volume_curve_ml is not None
    single = m.method == "single-slice"
    for i, b in enumerate(m.beats):
        # one short-axis slice: an area change, not an EF; a PLAX clip: no EF at all
        ef = None if single or m.view in NON_APICAL_LONG_AXIS_VIEWS else b.ef_pct
        fac = b.ef_pct if single else None  # (its curve is the cavity area)
        rows.append(BeatRow(i, int(b.ed_frame), int(b.es_frame), float(b.ed_value) if volumes else None,
                            float(b.es_value) if volumes else None, float(b.stroke_value) if volumes else None,
                            None if ef is None else float(ef), b.rr_s, bool(b.trusted), b.why_untrusted,
                            None if fac is None else float(fac)))
    return rows


@dataclass(frozen=True)
class StrainSection:
    """Longitudinal strain of one recording.

    curve_pct: (T,) global strain per frame. segment_curves_pct: (T, K) per segment.
    segment_peak_pct: (K,) peak systolic segmental strain. segment_ok: (K,) tracking quality passed.
    """

    gls_pct: float | None
    curve_pct: np.ndarray
    segment_names: tuple[str, ...] = ()
    segment_curves_pct: np.ndarray | None = None
    segment_peak_pct: tuple[float | None, ...] = ()
    segment_ok: tuple[bool, ...] = ()
    motion: str = ""  # how the wall was tracked: "classical-dis" (optical flow), "learned-flownet" (a network)
    segment_length_px: float | None = None  # a segment's mean length at ED (app.analysis.strain.segment_length_px)

    @property
    def low_quality_segments(self) -> tuple[str, ...]:
        """As StrainResult's: the segments whose tracking quality failed (none when quality is not known)."""
        return tuple(n for n, ok in zip(self.segment_names, self.segment_ok, strict=False) if not ok)


@dataclass(frozen=True)
class FrameFigure:
    """One frame to draw: image (H, W) float 0..1 and contours {name: (N, 2) (x=col, y=row) px}."""

    label: str  # "ED (frame 12)"
    frame_index: int
    image: np.ndarray
    contours: dict = field(default_factory=dict)
    closed: dict = field(default_factory=dict)  # name -> bool (closed polygon)


@dataclass(frozen=True)
class RecordingSection:
    """Everything the report says about one recording."""

    name: str
    modality: str
    view: str
    n_frames: int
    n_slices: int
    frame_rate_hz: float | None
    spacing_mm: tuple[float, float]
    calibrated: bool
    slice_spacing_mm: float | None
    frame_times_s: np.ndarray
    measurements: tuple[MeasurementRow, ...]
    beats: tuple[BeatRow, ...] = ()
    ed_frames: tuple[int, ...] = ()
    es_frames: tuple[int, ...] = ()
    volume_curve_ml: np.ndarray | None = None
    area_curve: np.ndarray | None = None  # without a volume curve: cavity area per frame, in area_unit
    area_unit: str = "px^2, uncalibrated"  # or "cm^2" (one calibrated short-axis slice)
    figures: tuple[FrameFigure, ...] = ()
    strain: StrainSection | None = None
    strain_requested: bool = True  # False: the user asked for no strain (no GLS rows; "not requested" in words)
    quality_flags: tuple[str, ...] = ()
    reader_notes: tuple[str, ...] = ()  # what the file itself lacked (cut short, lost images, impossible calibration)
    contour_caveats: tuple[str, ...] = ()  # values resting on a borderline call (RV basal slice) or far-apart beats
    view_warnings: tuple[str, ...] = ()  # the view classifier confidently disputes the view (app.workflow.view_step)
    edited: frozenset = frozenset()
    source_path: str = ""
    segmenter: str = ""  # what drew the contours (model name, "manual", injected labels)
    hand_edited_frames: tuple[int, ...] = ()  # frames whose contours were corrected by hand (the viewer)
    propagated_frames: tuple[int, ...] = ()  # frames a hand correction was carried to along the motion
    strain_retracked: bool = False  # the strain was tracked again on the edited contours (the viewer)

    @property
    def edit_phrases(self) -> list[str]:
        """What was edited by hand on this recording and what it changed of the values printed, in words (the PDF's
        'Edited by hand', the SR's algorithm parameters of this recording)."""
        from app.report.plain_words import edit_frames_phrases, edited_phrases

        shown = {row.key for row in self.measurements if row.value is not None}
        return edited_phrases(self.edited, shown) + edit_frames_phrases(self)

    @property
    def spacing_text(self) -> str:
        row, col = self.spacing_mm
        text = f"{row:.3f} x {col:.3f} mm"
        return text if self.calibrated else f"{text} (nominal)"

    @property
    def frame_rate_text(self) -> str:
        return f"{self.frame_rate_hz:.1f} Hz" if self.frame_rate_hz else "unknown"


@dataclass(frozen=True)
class NotMeasured:
    """A recording of the study the analysis refused (a colour Doppler clip): named on page 1, so the reader knows
    the report's values do not rest on it."""

    name: str
    reason: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    detail: str = ""


@dataclass(frozen=True)
class StudySources:
    """The recordings (indices into ReportData.recordings) the study's values were computed from: the biplane's
    A4C and A2C (the view pair, app.workflow.study_result: of two clips of a view, the one the study took), the
    LA volume's view(s), the mean GLS's clip of each view. The SR references their images."""

    biplane: tuple[int, ...] = ()
    la: tuple[int, ...] = ()
    gls: tuple[int, ...] = ()


def study_sources(composed, la=None) -> StudySources:
    """The StudySources of a StudyResult composed from the report's analyses (their order), the LA volume's
    views those of `la` (the one the report prints) where given."""
    views = dict(composed.views)
    la = la if la is not None else composed.la
    return StudySources(biplane=tuple(composed.pair or ()),
                        la=tuple(views[v] for v in (la.views if la is not None else ()) if v in views),
                        gls=tuple(composed.gls.sources))


@dataclass(frozen=True)
class ReportData:
    """The whole report. study_rows: study-level values (biplane volumes, average GLS)."""

    patient: PatientInfo
    anonymised: bool
    recordings: tuple[RecordingSection, ...]
    study_rows: tuple[MeasurementRow, ...] = ()
    bullseye_pct: dict | None = None  # AHA segment 1..17 -> peak strain % (None = not available)
    bullseye_unreliable: frozenset = frozenset()  # segments whose tracking quality failed
    comment: str = ""  # the reviewer's conclusion (viewer: Report > Comment / Conclusion; CLI --comment)
    reviewer: str = ""  # who reviewed and signs the report
    software_version: str = ""
    models: tuple[ModelInfo, ...] = ()
    created: str = ""  # ISO date-time of the report, "YYYY-MM-DD HH:MM:SS" and the time zone's name
    amends: str = ""  # when the results this report replaces were made ("": the first sent)
    not_measured: tuple[NotMeasured, ...] = ()  # recordings of the study left out of the analysis, with why
    age_years: int | None = None  # at the study (kept when anonymised: the ranges are adults')
    study_notes: tuple[str, ...] = ()  # how the study's values were composed (StudyResult.notes): on page 1
    study_sources: StudySources = StudySources()  # which recordings the study's values come from (the SR's refs)

    @property
    def title(self) -> str:
        """What the report is, as page 1 and the PDF's and the DICOM document's titles name it: the RV too when a
        recording gives RV values (a short-axis cine MR stack)."""
        rv = any(row.key.startswith("rv_") and row.value is not None
                 for rec in self.recordings for row in rec.measurements)
        return f"CardioTrace: {'left and right ventricular' if rv else 'left ventricular'} function report"

    @property
    def signed(self) -> bool:
        """A reviewer is named beside the signature line; until then the report is preliminary."""
        return bool(self.reviewer.strip())

    @property
    def made(self) -> str:
        """'YYYY-MM-DD HH:MM:SS' of `created`, without its zone (the series descriptions' and the amendments'
        time; a report created before the seconds were given, 'YYYY-MM-DD HH:MM')."""
        return " ".join(self.created.split()[:2])

    @property
    def status_text(self) -> str:
        """Page 1's and the DICOM series' word on where this report stands."""
        status = f"signed by {self.reviewer.strip()}" if self.signed else "preliminary, not signed"
        return status + (f"; amends the results of {self.amends}" if self.amends else "")

    @property
    def summary_rows(self) -> list[tuple[str, MeasurementRow]]:
        """Page 1: the study's values (biplane volumes, mean GLS, LA volume) and each recording's headline values
        not given for the study, as (where from, row); LV, RV, LA, then heart rate and strain. Where from is the
        view, and the file's name too where two recordings share a view (their rows would otherwise read alike)."""
        out = [("study", row) for row in self.study_rows]
        have = {row.key for row in self.study_rows}
        titles = [view_title(rec.view) or rec.name for rec in self.recordings]
        for rec, title in zip(self.recordings, titles, strict=True):
            source = f"{title}: {rec.name}" if titles.count(title) > 1 and title != rec.name else title
            out += [(source, row) for row in rec.measurements if row.key in SUMMARY_KEYS and row.key not in have]
        return sorted(out, key=lambda item: _summary_group(item[1].key))  # stable: the order within a group

    @property
    def all_rows(self) -> list[tuple[str, MeasurementRow]]:
        """(recording name or 'study', row) for every measurement in display order."""
        out = [(rec.name, row) for rec in self.recordings for row in rec.measurements]
        return out + [("study", row) for row in self.study_rows]


def _summary_group(key: str) -> int:
    """Page 1 reads as a cardiologist reports: the LV (volumes, EF, mass, indexed to BSA), then the RV, then
    the LA, then heart rate and strain."""
    if key.startswith("rv_"):
        return 1
    if key.startswith("la_"):
        return 2
    if key in ("heart_rate_bpm", "gls_pct"):
        return 3
    return 0


def format_value(value: float | None, decimals: int = 1) -> str:
    """The display text of a number; 'not computed' for None or NaN."""
    if value is None:
        return "not computed"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return "not computed"
    return f"{number:.{decimals}f}"


def rounded(value: float | None, decimals: int = 1) -> float | None:
    """The value as the report prints it (for the JSON export), None for missing/NaN."""
    if value is None:
        return None
    number = float(value)
    if not np.isfinite(number):
        return None
    return int(round(number)) if decimals == 0 else round(number, decimals)  # "61", not "61.0", as printed
