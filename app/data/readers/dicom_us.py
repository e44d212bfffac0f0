"""DICOM ultrasound (multi-frame or single-frame) -> grey (T, H, W) echo Recording.

Spacing: the 2D tissue region of SequenceOfUltrasoundRegions (RegionSpatialFormat 1, tissue data type
preferred, the largest; PhysicalDeltaX/Y in cm -> mm), else PixelSpacing, else nominal (1, 1) with
calibrated=False. Timing: FrameTimeVector, FrameTime (ms), CineRate, RecommendedDisplayFrameRate, else
NOMINAL_FRAME_RATE_HZ["echo"] with frame_times_nominal=True. The sector is found inside the region box (see
sector.py) and everything outside it is set to 0. The image mode: a colour-flow region, or colour off the clip's
grey map inside the sector (colour_flow.py), is colour Doppler; a spectral or M-mode region larger than the 2D ones
is that display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.readers import dicom_common as dc
from app.data.readers.colour_flow import shows_colour_flow
from app.data.readers.pixel_damage import damage_note
from app.data.readers.plausible import PLAUSIBLE_FRAME_INTERVAL_S
from app.data.readers.sector import Box, apply_mask, detect_sector, sample_step
from app.data.readers.summary_only import unread_frames
from app.data.readers.view import view_from_text
from app.data.recording import NOMINAL_FRAME_RATE_HZ, Recording, uniform_frame_times

_UNITS_CM = 3
_SPATIAL_2D = 1
_TISSUE = 1
_COLOUR_FLOW = 2  # RegionDataType 0002H (PS3.3 C.8.5.5.1.2)
_SWEEP_MODES = {2: "M-mode", 3: "spectral Doppler"}  # RegionSpatialFormat 0002H, 0003H


@dataclass(frozen=True)
class UsRegion:
    """One 2D ultrasound region: its pixel box and physical pixel size."""

    box: Box  # (row0, col0, row1, col1) inclusive
    spacing_mm: tuple[float, float] | None  # (row, col), None when the units are not cm
    tissue: bool

    @property
    def area_px(self) -> int:
        return _area_px(self.box)


def _area_px(box: Box) -> int:
    return (abs(box[2] - box[0]) + 1) * (abs(box[3] - box[1]) + 1)


def _box(item) -> Box | None:
    """A region's (row0, col0, row1, col1), or None when its bounds are not numbers."""
    try:
        y0, x0, y1, x1 = (int(dc.get(item, k, 0)) for k in
                          ("RegionLocationMinY0", "RegionLocationMinX0", "RegionLocationMaxY1", "RegionLocationMaxX1"))
    except (TypeError, ValueError):
        return None
    return (y0, x0, y1, x1)


def _region(item) -> UsRegion | None:
    if dc.get(item, "RegionSpatialFormat") != _SPATIAL_2D or (box := _box(item)) is None:
        return None
    dx, dy = dc.get_float(item, "PhysicalDeltaX"), dc.get_float(item, "PhysicalDeltaY")
    cm = dc.get(item, "PhysicalUnitsXDirection") == _UNITS_CM and dc.get(item, "PhysicalUnitsYDirection") == _UNITS_CM
    spacing = (abs(dy) * 10.0, abs(dx) * 10.0) if cm and dx and dy else None
    return UsRegion(box=box, spacing_mm=spacing, tissue=dc.get(item, "RegionDataType") == _TISSUE)


def _fits(region: UsRegion, rows: int, cols: int) -> bool:
    r0, c0, r1, c1 = region.box
    return 0 <= r0 <= r1 <= rows and 0 <= c0 <= c1 <= cols  # one past the edge is common: tolerated


def tissue_region(ds) -> UsRegion | None:
    """The 2D tissue region (largest; calibrated tissue regions first), or None.

    A region that does not fit inside the image was written for another resolution (the image was
    resized after the fact), so neither its box nor its pixel size can be trusted: it is ignored.
    """
    rows, cols = int(dc.get(ds, "Rows", 0)), int(dc.get(ds, "Columns", 0))
    items = dc.get(ds, "SequenceOfUltrasoundRegions") or []
    regions = [r for r in (_region(item) for item in items) if r and _fits(r, rows, cols)]
    if not regions:
        return None
    return max(regions, key=lambda r: (r.spacing_mm is not None, r.tissue, r.area_px))


def image_mode(ds, off_grey_map, sector_mask) -> str:
    """Recording.image_mode: a colour-flow region (or colour off the grey map inside the sector) is colour Doppler;
    a spectral or M-mode region larger than every 2D one is that display (its 2D image is a small reference)."""
    items = dc.get(ds, "SequenceOfUltrasoundRegions") or []
    if any(dc.get(item, "RegionDataType") == _COLOUR_FLOW for item in items):
        return "colour Doppler"
    areas: dict[object, int] = {}
    for item in items:
        if (box := _box(item)) is not None:
            spatial = dc.get(item, "RegionSpatialFormat")
            areas[spatial] = max(areas.get(spatial, 0), _area_px(box))
    largest = max(areas, key=lambda k: areas[k], default=None)
    if largest in _SWEEP_MODES and areas[largest] > areas.get(_SPATIAL_2D, 0):
        return _SWEEP_MODES[largest]
    return "colour Doppler" if shows_colour_flow(off_grey_map, sector_mask) else "2D"


def spacing(ds, region: UsRegion | None) -> tuple[tuple[float, float], bool]:
    """((row_mm, col_mm), calibrated)."""
    if region is not None and region.spacing_mm is not None:
        return region.spacing_mm, True
    pixel = dc.get_floats(ds, "PixelSpacing")
    if pixel and len(pixel) == 2 and all(p > 0 for p in pixel):
        return (pixel[0], pixel[1]), True
    return (1.0, 1.0), False


def frame_times(ds, n_frames: int) -> tuple[np.ndarray, bool]:
    """((T,) seconds from the first frame, nominal flag) from the timing elements."""
    vector = dc.get_floats(ds, "FrameTimeVector")
    if vector and len(vector) == n_frames and all(v >= 0 for v in vector[1:]) and sum(vector[1:]) > 0:
        times = np.cumsum(np.asarray(vector, dtype=np.float64)) / 1000.0
        return times - times[0], False
    frame_time_ms = dc.get_float(ds, "FrameTime")
    rates = [1000.0 / frame_time_ms if frame_time_ms and frame_time_ms > 0 else None,
             *(dc.get_float(ds, keyword) for keyword in ("CineRate", "RecommendedDisplayFrameRate"))]
    given = [rate for rate in rates if rate and rate > 0]
    low_s, high_s = PLAUSIBLE_FRAME_INTERVAL_S
    plausible = [rate for rate in given if 1.0 / high_s <= rate <= 1.0 / low_s]  # a wrong FrameTime, a right CineRate
    if plausible or given:  # an implausible one only when no other: plausible.checked_timing then says so
        return uniform_frame_times(n_frames, (plausible or given)[0]), False
    return uniform_frame_times(n_frames, NOMINAL_FRAME_RATE_HZ["echo"]), n_frames > 1


def view_of(ds, path: Path) -> str:
    codes = dc.get(ds, "ViewCodeSequence") or []
    meanings = [str(dc.get(item, "CodeMeaning", "")) for item in codes]
    return view_from_text(*meanings, dc.get(ds, "SeriesDescription"), dc.get(ds, "ProtocolName"),
                          dc.get(ds, "ImageComments"))


def read_us(ds, path: Path, summary_only: bool = False) -> Recording:
    """Echo Recording from a decoded-on-demand ultrasound Dataset `ds` read from `path`; summary_only: only the
    frames the sector and colour checks sample are decoded (summary_only.py)."""
    n_frames, rows, cols, _, _ = dc.image_geometry(ds, path)
    sample = list(range(0, n_frames, sample_step(n_frames))) if summary_only else None
    decoded = dc.decode_frames(ds, path, sample)
    grey, grey_note = _grey_side_up(ds, decoded.grey)  # (a MONOCHROME1 file is decoded whole)
    off_grey_map, rgb = decoded.off_grey_map, decoded.rgb
    region = tissue_region(ds)
    spacing_mm, calibrated = spacing(ds, region)
    times, nominal = frame_times(ds, n_frames)
    mask = detect_sector(grey, region.box if region else None)  # a sample: detect_sector's own sample is all of it
    heart_rate = dc.get_float(ds, "HeartRate")
    mode = image_mode(ds, off_grey_map, mask)
    return Recording(
        frames=unread_frames((n_frames, rows, cols), grey.dtype) if summary_only else apply_mask(grey, mask),
        spacing_mm=spacing_mm,
        frame_times_s=times,
        modality="echo",
        view=view_of(ds, path),
        calibrated=calibrated,
        patient=dc.patient_info(ds),
        source_path=path,
        heart_rate_bpm=heart_rate if heart_rate and heart_rate > 0 else None,
        sector_mask=mask,
        series_description=str(dc.get(ds, "SeriesDescription", "")),
        frame_times_nominal=nominal,
        image_mode=mode,
        display_rgb=apply_mask(rgb, mask) if mode == "colour Doppler" and rgb is not None else None,
        damaged_frames=decoded.damaged_frames,
        reader_notes=tuple(n for n in [grey_note, damage_note(decoded.damaged_frames, n_frames)] if n),
    )


# A B-mode image is mostly dark (the background outside the sector, the blood pool): read with its grey upside down,
# most of it is bright. Frames sampled for the check, enough for a median.
_SIDE_UP_SAMPLE_FRAMES = 8


def _grey_side_up(ds, grey: np.ndarray) -> tuple[np.ndarray, str]:
    """(grey, a reader note or ""): an ultrasound file labelled MONOCHROME1 (0 = white) whose pixels, read that
    way, are mostly bright was labelled wrong, and its pixels are read as stored (0 = black). Read as labelled,
    the network saw a white background and a bright cavity: an EF far off, most frames flagged."""
    if str(dc.get(ds, "PhotometricInterpretation", "")).upper().strip() != "MONOCHROME1" or grey.size == 0:
        return grey, ""
    sample = grey[np.linspace(0, grey.shape[0] - 1, min(grey.shape[0], _SIDE_UP_SAMPLE_FRAMES)).astype(int)]
    low, high = float(grey.min()), float(grey.max())
    if float(np.median(sample)) <= (low + high) / 2:
        return grey, ""
    return dc.grey_flipped(grey), (  # the reader's MONOCHROME1 flip, undone
        "labelled MONOCHROME1 (0 = white), but an ultrasound image read that way is mostly white: its pixels are "
        "read as stored, 0 = black (check the file's export settings)")
