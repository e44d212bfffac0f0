"""The recording model shared by every reader, analysis, model and view.

A `Recording` is immutable. Frames are a numpy array in the file's own intensity range:
(T, H, W) for a 2D+t recording (echo, a single MR slice), (S, T, H, W) for a short-axis MR stack
(S slices from base to apex, T phases). Rows run along depth for echo (probe at the top).
"""

from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

Modality = Literal["echo", "mri"]
_UNIT_CACHES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # Recording -> frames_unit per slice
VIEWS = ("a2c", "a3c", "a4c", "plax", "psax", "sax", "unknown")
ECHO_VIEW_NAMES = ("a2c", "a3c", "a4c", "plax", "psax")  # views only echo records (sax: cine MR)
APICAL_VIEWS = ("a2c", "a3c", "a4c")
# Echo views whose LV the method of discs cannot measure (it needs the apex); the echo network, trained on apical
# views, draws no LV of its own there either: no EDV/ESV/EF, whole or per beat (app.workflow.lv_curves)
NON_APICAL_LONG_AXIS_VIEWS = ("plax",)
IMAGE_MODES = ("2D", "colour Doppler", "spectral Doppler", "M-mode")


def may_have_gls(view: str) -> bool:
    """Whether an echo clip of this view can have a GLS: an apical view, or one not set yet (setting it gives
    one); never a parasternal view (the strain segments are the apical views')."""
    return view in APICAL_VIEWS or view in ("", "unknown")


def view_title(view: str) -> str:
    """A view as labels print it ("A4C"), or "" when it is not set: "GLS", not "GLS UNKNOWN"."""
    return "" if view in ("", "unknown") else view.upper()


HEIGHT_RANGE_CM = (30.0, 250.0)  # plausible: a newborn to the tallest adults
WEIGHT_RANGE_KG = (1.0, 400.0)


@dataclass(frozen=True)
class PatientInfo:
    """Patient and study fields for the report header. Empty strings when the file has none."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""  # YYYYMMDD as in DICOM
    sex: str = ""  # M / F / O
    study_date: str = ""  # YYYYMMDD
    institution: str = ""
    manufacturer: str = ""
    study_uid: str = ""
    height_cm: float | None = None  # DICOM PatientSize (m) x 100, or typed in (analyze --height-cm, the viewer)
    weight_kg: float | None = None  # DICOM PatientWeight, or typed in

    def age_years(self) -> int | None:
        """Whole years from the birth date to the study date (None when either is missing or no date)."""
        import datetime as dt

        try:
            born, seen = (dt.datetime.strptime(d.strip(), "%Y%m%d").date() for d in (self.birth_date, self.study_date))
        except ValueError:
            return None
        years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
        return years if years >= 0 else None

    def anonymised(self) -> "PatientInfo":
        """Without identifiers; sex, height and weight stay (DICOM PS3.15's Retain Patient Characteristics option,
        as the DICOM results keep PatientSex): the normal ranges and indexed values rest on them, and an anonymised
        copy must flag what the signed report flags."""
        return PatientInfo(name="Anonymous", manufacturer=self.manufacturer, study_uid="", sex=self.sex,
                           height_cm=self.height_cm, weight_kg=self.weight_kg)


@dataclass(frozen=True)
class SeriesInfo:
    """One series found in a folder or DICOMDIR, listed so the user can pick one."""

    key: str  # stable identifier to pass back to the reader (series UID or file path)
    description: str
    modality: Modality
    n_frames: int
    shape: tuple[int, ...]
    paths: tuple[Path, ...] = ()


@dataclass(frozen=True, eq=False)
class Recording:
    """One echo clip or cine MR series, ready for analysis.

    Attributes
    ----------
    frames: (T, H, W) or (S, T, H, W) array, native intensities (uint8 for echo video, uint16/float MR).
    spacing_mm: (row, col) pixel size in millimetres; nominal (1, 1) when `calibrated` is False.
    frame_times_s: (T,) acquisition time of each frame from the first, seconds.
    modality: "echo" or "mri".
    view: one of VIEWS.
    calibrated: True when spacing_mm is physical (from the file or a user calibration).
    slice_spacing_mm: distance between slice centres of a stack, else None.
    heart_rate_bpm: from the file when it says, else None.
    sector_mask: (H, W) bool, True inside the ultrasound sector (echo), else None.
    ecg: (2, N) array of (time_s, value) when the file carries an ECG trace, else None.
    frame_times_nominal: True when the file gave no timing and frame_times_s uses a default rate.
    reader_notes: what the reader could not take from the file as it should have (e.g. a video that ends
        before the frames its header announces), for the user: shown by `info`, and among an analysis' notes.
    image_mode: one of IMAGE_MODES; an echo recording that is not a 2D grey-scale image (colour Doppler over the
        image, found by readers/colour_flow.py; a spectral Doppler or M-mode display, from the file's ultrasound
        regions) has no LV border to trace, so the analysis refuses it.
    display_rgb: (T, H, W, 3) uint8 colours of a colour Doppler clip, shown by the viewer as the scanner showed
        them; None for a grey-scale recording. Nothing is measured on it (`frames` holds the grey levels).
    damaged_frames: frames decoded from damaged compressed data (readers/pixel_damage.py): noise, not the
        scanner's image; the analysis flags them and leaves them out of the ED/ES curve.
    """

    frames: np.ndarray
    spacing_mm: tuple[float, float]
    frame_times_s: np.ndarray
    modality: Modality
    view: str = "unknown"
    calibrated: bool = True
    patient: PatientInfo = field(default_factory=PatientInfo)
    source_path: Path | None = None
    slice_spacing_mm: float | None = None
    heart_rate_bpm: float | None = None
    sector_mask: np.ndarray | None = None
    ecg: np.ndarray | None = None
    series_description: str = ""
    frame_times_nominal: bool = False
    reader_notes: tuple[str, ...] = ()
    image_mode: str = "2D"
    display_rgb: np.ndarray | None = None
    damaged_frames: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.frames.ndim not in (3, 4):
            raise ValueError(f"frames must be (T,H,W) or (S,T,H,W), got shape {self.frames.shape}")
        if len(self.frame_times_s) != self.n_frames:
            raise ValueError(f"{len(self.frame_times_s)} frame times for {self.n_frames} frames")
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}; expected one of {VIEWS}")
        if self.image_mode not in IMAGE_MODES:
            raise ValueError(f"unknown image mode {self.image_mode!r}; expected one of {IMAGE_MODES}")
        if self.modality not in ("echo", "mri"):
            raise ValueError(f"unknown modality {self.modality!r}")
        if self.display_rgb is not None and self.display_rgb.shape != (*self.frames.shape, 3):
            raise ValueError(f"display colours of shape {self.display_rgb.shape} for frames {self.frames.shape}")

    # -- shape ------------------------------------------------------------------------------
    @property
    def is_stack(self) -> bool:
        return self.frames.ndim == 4

    @property
    def n_slices(self) -> int:
        return self.frames.shape[0] if self.is_stack else 1

    @property
    def n_frames(self) -> int:
        return self.frames.shape[-3]

    @property
    def image_shape(self) -> tuple[int, int]:
        return (int(self.frames.shape[-2]), int(self.frames.shape[-1]))

    @property
    def image_arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays its images are held in: the frames and, for a colour Doppler clip, the display colours."""
        return (self.frames,) if self.display_rgb is None else (self.frames, self.display_rgb)

    @property
    def image_bytes(self) -> int:
        """The memory its images hold (image_arrays: what a study's memory budget counts for it,
        app.data.readers.limits.StudyBudget)."""
        return sum(int(array.nbytes) for array in self.image_arrays)

    @property
    def is_gated_cycle(self) -> bool:
        """Cine MR (a stack or one slice): the frames are the phases of one ECG-gated, periodic cycle, so the
        last phase is followed by the first and the phases span one RR interval; an echo clip is a stretch of
        real time with no such wrap."""
        return self.modality == "mri"

    # -- timing -----------------------------------------------------------------------------
    @property
    def frame_rate_hz(self) -> float | None:
        if self.n_frames < 2:
            return None
        dt = float(np.median(np.diff(self.frame_times_s)))
        return 1.0 / dt if dt > 0 else None

    @property
    def known_frame_rate_hz(self) -> float | None:
        """The frame rate the results give: None where the frame times are nominal (frame_times_nominal: the file
        gives no timing, e.g. phases joined from one file each, and frame_rate_hz is the default rate they were
        spaced at), as the report says "unknown"; else frame_rate_hz."""
        return None if self.frame_times_nominal else self.frame_rate_hz

    @property
    def duration_s(self) -> float:
        return float(self.frame_times_s[-1] - self.frame_times_s[0]) if self.n_frames else 0.0

    # -- access -----------------------------------------------------------------------------
    def slice_frames(self, slice_index: int = 0) -> np.ndarray:
        """(T, H, W) frames of one slice (the only one for a 2D+t recording)."""
        return self.frames[slice_index] if self.is_stack else self.frames

    def frames_unit(self, slice_index: int = 0, *, frames=None) -> np.ndarray:
        """(T, H, W) float32 frames of one slice scaled to 0..1 (1st-99.5th percentile window of the slice).

        The whole slice is computed once and kept (read-only): segmentation, ED/ES and strain share it.
        frames: an index, slice or index array: only those frames, scaled with the same window, without
        making the whole float clip (a consumer going frame by frame keeps memory flat)."""
        cached = self._unit_cache().get(slice_index)
        if frames is not None:
            if cached is not None:
                return cached[frames]
            return self.unit_scale(slice_index).apply(self.slice_frames(slice_index)[frames])
        if cached is None:
            cached = self.unit_scale(slice_index).apply(self.slice_frames(slice_index))
            cached.flags.writeable = False
            self._unit_cache()[slice_index] = cached
        return cached

    def _unit_cache(self) -> dict:
        """This recording's frames_unit cache (kept beside it, not in it: copies and pickles stay plain)."""
        return _UNIT_CACHES.setdefault(self, {})

    def unit_scale(self, slice_index: int = 0) -> UnitScale:
        """The intensity window of frames_unit for one slice (computed once)."""
        key = ("scale", slice_index)
        if key not in self._unit_cache():
            self._unit_cache()[key] = unit_scale(self.slice_frames(slice_index))
        return self._unit_cache()[key]

    @property
    def pixel_area_mm2(self) -> float:
        return float(self.spacing_mm[0] * self.spacing_mm[1])

    # -- derived copies ---------------------------------------------------------------------
    def with_view(self, view: str) -> "Recording":
        return replace(self, view=view)

    def with_calibration(self, spacing_mm: tuple[float, float]) -> "Recording":
        return replace(self, spacing_mm=(float(spacing_mm[0]), float(spacing_mm[1])), calibrated=True)

    def summary(self) -> dict:
        """What `info --json` prints: plain JSON types only."""
        rate = self.frame_rate_hz
        return {
            "path": str(self.source_path) if self.source_path else None,
            "modality": self.modality,
            "frames": self.n_frames,
            "slices": self.n_slices,
            "shape": list(self.frames.shape),
            "dtype": str(self.frames.dtype),
            "spacing_mm": [round(float(s), 6) for s in self.spacing_mm],
            "slice_spacing_mm": self.slice_spacing_mm,
            "frame_rate_hz": round(rate, 3) if rate else None,
            "frame_times_nominal": self.frame_times_nominal,
            "reader_notes": list(self.reader_notes),
            "image_mode": self.image_mode,
            "duration_s": round(self.duration_s, 4),
            "heart_rate_bpm": self.heart_rate_bpm,
            "view": self.view,
            "calibrated": self.calibrated,
            "series": self.series_description,
            "has_sector_mask": self.sector_mask is not None,
            "has_ecg": self.ecg is not None,
            "manufacturer": self.patient.manufacturer,
            "patient": {k: v for k, v in asdict(self.patient).items() if k != "manufacturer"},
        }


@dataclass(frozen=True, eq=False)
class UnitScale:
    """The 0..1 intensity window of a clip: its 1st and 99.5th percentiles (np.percentile's linear
    interpolation); for integer data also a lookup table from value - `low` to the scaled value."""

    lo: float
    hi: float
    low: int = 0
    lut: np.ndarray | None = None

    def apply(self, data: np.ndarray) -> np.ndarray:
        """float32 copy of `data` (any frames of the clip) scaled to 0..1."""
        if self.lut is not None:
            if data.dtype == np.uint8 and data.ndim >= 1 and self.low == 0 and len(self.lut) == 256:
                return _lookup_uint8(data, self.lut)
            return self.lut[data if self.low == 0 else data.astype(np.int64) - self.low]
        out = np.asarray(data, np.float32) - np.float32(self.lo)
        out /= np.float32(self.hi - self.lo)
        return np.clip(out, 0.0, 1.0, out=out)


def _lookup_uint8(data: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """lut[data] for uint8 data and a 256-entry float32 table, by OpenCV (a third of numpy's time, the same values)."""
    import cv2  # lazily: the data layer loads without OpenCV

    rows = np.ascontiguousarray(data).reshape(-1, data.shape[-1])
    looked_up: np.ndarray = cv2.LUT(rows, lut).reshape(data.shape)
    return looked_up


def unit_scale(data: np.ndarray) -> UnitScale:
    """The UnitScale of `data`; integer data (video, MR) through a histogram, without a float copy. For uint8 data
    the table covers every value from 0 (so that OpenCV can look it up)."""
    if data.size == 0:
        return UnitScale(0.0, 1.0)
    if np.issubdtype(data.dtype, np.integer):
        low = 0 if data.dtype == np.uint8 else int(data.min())
        span = 255 if data.dtype == np.uint8 else int(data.max()) - low
        if span < 1 << 20:
            counts = np.zeros(span + 1, np.int64)
            for part in data.reshape(len(data), -1) if data.ndim > 1 else data[None]:  # bincount makes an
                counts += np.bincount(part.astype(np.int64) - low, minlength=span + 1)  # int64 copy: a frame at a time
            lo, hi = (low + _histogram_percentile(counts, q) for q in (1.0, 99.5))
            hi = hi if hi > lo else lo + 1.0
            lut = np.clip((np.arange(low, low + span + 1, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
            return UnitScale(lo, hi, low, lut.astype(np.float32))
    lo, hi = (float(v) for v in np.percentile(np.asarray(data, np.float32), [1.0, 99.5]))
    return UnitScale(lo, hi if hi > lo else lo + 1.0)


def _histogram_percentile(counts: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear method) of the values 0..len(counts)-1 counted in `counts`."""
    cumulative = np.cumsum(counts)
    position = q / 100.0 * (cumulative[-1] - 1)
    below, frac = int(np.floor(position)), position - np.floor(position)
    v0 = int(np.searchsorted(cumulative, below, side="right"))
    v1 = int(np.searchsorted(cumulative, below + 1, side="right")) if frac > 0 else v0
    return float(v0 + frac * (v1 - v0))


# what the readers assume for a file without usable frame timing (frame_times_nominal)
NOMINAL_FRAME_RATE_HZ = {"echo": 30.0, "mri": 25.0}


def uniform_frame_times(n_frames: int, frame_rate_hz: float) -> np.ndarray:
    """Frame times in seconds for a constant frame rate."""
    return np.arange(n_frames, dtype=np.float64) / float(frame_rate_hz)
