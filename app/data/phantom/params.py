"""Validated parameters of the echo and MRI phantoms (frozen dataclasses; ValueError on bad values)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from app.data.phantom.segments import check_segments

QUALITIES = ("excellent", "good", "fair", "poor")
ECHO_VIEWS = ("a4c", "a2c", "a3c")


def params_dict(params) -> dict:
    """A parameters dataclass as a JSON-ready dict (tuples become lists), for a recording's metadata."""
    return _jsonable(asdict(params))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _in_range(name: str, value: float, lo: float, hi: float) -> None:
    if not (lo <= value <= hi):
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, got {value:g}")


@dataclass(frozen=True)
class HeartParams:
    """The beating left ventricle shared by both modalities.

    edv_ml/esv_ml: end-diastolic and end-systolic volume of the 3D model (so EF = 1 - ESV/EDV).
    systole_diastole_ratio: duration of systole (isovolumic contraction + ejection) over diastole.
    hypokinetic: AHA segment names moving at ~50 % of normal. infarct: akinetic, thinned segments.
    start_phase: cardiac phase of the first frame as a fraction of the cycle (0 = end-diastole).
    """

    edv_ml: float = 120.0
    esv_ml: float = 50.0
    heart_rate_bpm: float = 70.0
    systole_diastole_ratio: float = 0.6
    hypokinetic: tuple[str, ...] = ()
    infarct: tuple[str, ...] = ()
    start_phase: float = 0.0

    def __post_init__(self) -> None:
        _in_range("EDV (ml)", self.edv_ml, 30.0, 450.0)
        _in_range("ESV (ml)", self.esv_ml, 8.0, 400.0)
        if self.esv_ml >= self.edv_ml:
            raise ValueError(f"ESV ({self.esv_ml:g} ml) must be smaller than EDV ({self.edv_ml:g} ml)")
        _in_range("ejection fraction (%)", self.ef_pct, 5.0, 85.0)
        _in_range("heart rate (bpm)", self.heart_rate_bpm, 30.0, 200.0)
        _in_range("systole/diastole ratio", self.systole_diastole_ratio, 0.3, 1.5)
        _in_range("start phase", self.start_phase, 0.0, 0.999)
        check_segments(tuple(self.hypokinetic))
        check_segments(tuple(self.infarct))
        if set(self.hypokinetic) & set(self.infarct):
            raise ValueError("a segment cannot be both hypokinetic and infarcted")

    @property
    def ef_pct(self) -> float:
        return 100.0 * (1.0 - self.esv_ml / self.edv_ml)

    @property
    def cycle_s(self) -> float:
        return 60.0 / self.heart_rate_bpm


@dataclass(frozen=True)
class EchoPhantomParams:
    """An apical echo clip of the phantom heart.

    depth_mm: imaging depth (None: just deep enough for the LV and the left atrium).
    sector_deg: full opening angle of the fan. image_shape_px: (rows, cols) of the scan-converted image.
    tilt_deg: rotation of the long axis from the image vertical.
    """

    heart: HeartParams = HeartParams()
    view: str = "a4c"
    beats: int = 2
    frame_rate_hz: float = 50.0
    quality: str = "good"
    depth_mm: float | None = None
    sector_deg: float = 75.0
    image_shape_px: tuple[int, int] = (256, 256)
    tilt_deg: float = 4.0

    def __post_init__(self) -> None:
        if self.view not in ECHO_VIEWS:
            raise ValueError(f"view must be one of {', '.join(ECHO_VIEWS)}, got {self.view!r}")
        if not (1 <= int(self.beats) <= 4) or int(self.beats) != self.beats:
            raise ValueError(f"beats must be an integer from 1 to 4, got {self.beats}")
        _in_range("frame rate (Hz)", self.frame_rate_hz, 20.0, 100.0)
        if self.quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {self.quality!r}")
        if self.depth_mm is not None:
            _in_range("depth (mm)", self.depth_mm, 80.0, 260.0)
        _in_range("sector width (deg)", self.sector_deg, 40.0, 100.0)
        rows, cols = self.image_shape_px
        _in_range("image rows", rows, 96, 1024)
        _in_range("image cols", cols, 96, 1024)
        _in_range("tilt (deg)", self.tilt_deg, -20.0, 20.0)
        check_segments(tuple(self.heart.hypokinetic) + tuple(self.heart.infarct), self.view)


@dataclass(frozen=True)
class MriPhantomParams:
    """A cine short-axis MR stack of the phantom heart (one cardiac cycle, base to apex)."""

    heart: HeartParams = HeartParams()
    n_phases: int = 25
    n_slices: int = 10
    slice_spacing_mm: float = 10.0
    slice_thickness_mm: float = 8.0
    pixel_mm: float = 1.4
    image_px: int = 192
    quality: str = "good"
    apical_trabeculae_mm: float = 0.0  # width of the spongy layer inside the apical endocardium (0: none)

    def __post_init__(self) -> None:
        _in_range("phases", self.n_phases, 10, 60)
        _in_range("apical trabeculae (mm)", self.apical_trabeculae_mm, 0.0, 10.0)
        _in_range("slices", self.n_slices, 3, 24)
        _in_range("slice spacing (mm)", self.slice_spacing_mm, 4.0, 16.0)
        _in_range("slice thickness (mm)", self.slice_thickness_mm, 2.0, self.slice_spacing_mm)
        _in_range("pixel size (mm)", self.pixel_mm, 0.7, 3.0)
        _in_range("image size (px)", self.image_px, 96, 512)
        if self.quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {self.quality!r}")
        if self.image_px * self.pixel_mm < 180.0:
            raise ValueError(f"field of view {self.image_px * self.pixel_mm:.0f} mm is too small (min 180 mm)")
