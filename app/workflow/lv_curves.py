"""The first half of measuring: a recording's contours as per-frame curves (LvCurves) before ED/ES are known.

Long-axis echo: the method of disks (monoplane volume, area, long-axis length) of every frame, in mm or, when
uncalibrated, in pixel units (spacing 1 x 1). One short-axis slice: its cavity area. A short-axis stack: the
slice-summation volume and each slice's endo/epi areas, with the RV contours. Each frame also gets its
quality flags (app/workflow/frame_quality.py). The second half, app/workflow/measure.py, finds ED/ES, beats and
the volumes from these curves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.analysis.contours import LvContours
from app.analysis.edes_curve import without_spikes
from app.analysis.polylines import polygon_area_px2
from app.analysis.volumes import Disks, contour_disks, slice_summation_ml
from app.data.recording import NON_APICAL_LONG_AXIS_VIEWS, Recording
from app.workflow.frame_quality import frame_quality, merge_flags, spike_frames
from app.workflow.results import AnalysisError, FrameContours, Method

SHORT_AXIS_VIEWS = ("psax", "sax")
PLAX_NOTE = ("a PLAX clip: no EDV/ESV/EF, as the method of discs and strain need an apical view (A4C, A2C or A3C); "
             "open the apical clips, or set the view if this is one")


def no_disks_view(recording: Recording) -> bool:
    """An echo clip labelled with a view the method of discs does not apply to (PLAX)."""
    return recording.modality == "echo" and recording.view in NON_APICAL_LONG_AXIS_VIEWS


def pixel_scale(recording: Recording) -> tuple[float, float]:
    if not recording.calibrated:
        return (1.0, 1.0)
    row_mm, col_mm = recording.spacing_mm
    return (row_mm, col_mm)


def frame_disks(recording: Recording, contours: LvContours | None, with_chords: bool = True) -> Disks | None:
    """Disks (in mm, or px units when uncalibrated) of one long-axis frame, or None."""
    return contour_disks(contours, pixel_scale(recording), with_chords)


def disk_chords_px(recording: Recording, contours: LvContours | None) -> np.ndarray | None:
    """(20, 2, 2) end points (x, y) in pixels of each disk chord, to draw the method of disks."""
    disks = frame_disks(recording, contours)
    if disks is None:
        return None
    sp = pixel_scale(recording)
    chords: np.ndarray = disks.chords_mm / np.array([sp[1], sp[0]])
    return chords


def _long_axis_curves(recording: Recording, frames: Sequence[LvContours | None]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(volume, area_px2, area_mm2, length_mm) per frame; NaN without contours."""
    n = len(frames)
    vol, area_px, area_mm, length = (np.full(n, np.nan) for _ in range(4))
    sp = pixel_scale(recording)
    for t, c in enumerate(frames):
        if c is None:
            continue
        area_px[t], vol[t], length[t] = _frame_values(c, sp)
        area_mm[t] = area_px[t] * sp[0] * sp[1]
    return vol, area_px, area_mm, length


def _frame_values(contours: LvContours, spacing_mm: tuple[float, float]) -> tuple[float, float, float]:
    """(area px^2, disk volume, long-axis length; NaN without disks) of one frame's contours, kept on the
    (immutable) LvContours per pixel spacing: the viewer measures the whole clip again after every edit, and
    only the edited frames have new contours."""
    cache: dict[tuple[float, float], tuple[float, float, float]] = contours.__dict__.setdefault("_curve_values", {})
    hit = cache.get(spacing_mm)
    if hit is None:
        disks = contour_disks(contours, spacing_mm, with_chords=False)
        hit = (polygon_area_px2(contours.endo_px),
               np.nan if disks is None else disks.volume_ml, np.nan if disks is None else disks.length_mm)
        if len(cache) > 3:  # recalibrated more than a few times: keep the memory bounded
            cache.clear()
        cache[spacing_mm] = hit
    return hit


@dataclass(frozen=True, eq=False)
class LvCurves:
    """What the contours of one recording give before ED/ES are known (the first half of measuring).

    method: "monoplane", "single-slice" or "slice-summation"; volume: (T,) the curve ED/ES come from (disk
    volumes, ml or px units; the area for a single slice); area_px/area_mm/length: (T,) per-frame curves;
    quality: per-frame flags. Stacks also keep the (S, T) endo/epi areas (px^2) and the RV borders.
    """

    method: Method
    volume: np.ndarray
    area_px: np.ndarray
    area_mm: np.ndarray
    length: np.ndarray
    quality: tuple[tuple[str, ...], ...]
    endo_px2: np.ndarray | None = None
    epi_px2: np.ndarray | None = None
    rv_contours: Sequence[Sequence[np.ndarray | None]] = ()

    def ed_es_curve(self, recording: Recording) -> np.ndarray:
        """The (T,) curve ED/ES are checked on: the volume (ml) when calibrated, else the area (px^2), area-jump
        frames NaN (app.analysis.edes_curve.without_spikes)."""
        volumes = recording.calibrated and self.method != "single-slice"
        return without_spikes(np.array(self.volume if volumes else self.area_px, dtype=np.float64),
                              spike_frames(self.quality))


def trace_curves(
    recording: Recording,
    contours_per_frame: Any,  # FrameContours or a list of LvContours | None; per slice for a stack
    *,
    confidence: np.ndarray | None = None,
    edited_frames: Sequence[int] = (),
    frame_flags: Mapping[int, Sequence[str]] | None = None,
    rv_contours: Sequence[Sequence[np.ndarray | None]] | None = None,
) -> LvCurves:
    """The curves and quality flags of one recording's contours (arguments as app.workflow.analyze.measure)."""
    if recording.is_stack:
        if rv_contours is None:
            rv_contours = [fc.rv if isinstance(fc, FrameContours) else () for fc in contours_per_frame]
        return _stack_curves(recording, contours_per_frame, confidence, edited_frames, frame_flags, rv_contours)
    frames = list(contours_per_frame)
    if len(frames) != recording.n_frames:
        raise AnalysisError(f"{len(frames)} contour frames for a recording of {recording.n_frames} frames")
    vol, area_px, area_mm, length = _long_axis_curves(recording, frames)
    present = np.array([c is not None for c in frames])
    found: list[Sequence[str]] = [() if c is None else c.issues for c in frames]
    issues = merge_flags(found, frame_flags, recording.damaged_frames)
    quality = frame_quality(present, area_px, confidence, edited_frames, issues)
    if is_single_short_axis(recording):
        vol = area_mm if recording.calibrated else area_px  # the curve ED/ES and the area change come from
        return LvCurves("single-slice", vol, area_px, area_mm, length, quality)
    return LvCurves("monoplane", vol, area_px, area_mm, length, quality)


def is_single_short_axis(recording: Recording) -> bool:
    """One short-axis slice over time: a cine MR recording that is not a stack, or a PSAX echo clip."""
    return not recording.is_stack and (recording.modality == "mri" or recording.view in SHORT_AXIS_VIEWS)


def no_slice_spacing(rec: Recording) -> str:
    """Why a stack cannot be summed (no slice spacing), "" when it can or is no stack."""
    if not rec.is_stack or rec.slice_spacing_mm:
        return ""
    why = "" if rec.calibrated else " (its file gives no pixel size either)"
    return (f"the short-axis stack has no slice spacing{why}: slice summation is impossible; open the scanner's "
            "DICOM series, or a file written with its voxel spacing in mm")


def _stack_curves(rec: Recording, per_slice: Iterable[Iterable[LvContours | None]], confidence: np.ndarray | None,
                  edited_frames: Sequence[int], frame_flags: Mapping[int, Sequence[str]] | None,
                  rv_contours: Sequence[Sequence[np.ndarray | None]]) -> LvCurves:
    slices = [list(fc) for fc in per_slice]
    if len(slices) != rec.n_slices or any(len(s) != rec.n_frames for s in slices):
        raise AnalysisError(f"contours must be {rec.n_slices} slices x {rec.n_frames} frames")
    if why := no_slice_spacing(rec):
        raise AnalysisError(why)
    assert rec.slice_spacing_mm  # no_slice_spacing
    sp = pixel_scale(rec)
    px_area = sp[0] * sp[1]
    endo = np.array([[np.nan if c is None else polygon_area_px2(c.endo_px) for c in s] for s in slices])  # (S, T)
    epi = np.array([[np.nan if c is None or c.epi_px is None else polygon_area_px2(c.epi_px) for c in s]
                    for s in slices])
    step = float(rec.slice_spacing_mm)
    present = np.isfinite(endo).any(axis=0)
    vol = np.array([slice_summation_ml(endo[:, t] * px_area, step) if present[t] else np.nan
                    for t in range(rec.n_frames)])
    area_px = np.nansum(endo, axis=0)
    area_px[~present] = np.nan
    found: list[Sequence[str]] = [
        tuple(dict.fromkeys(i for c in (s[t] for s in slices) if c is not None for i in c.issues))
        for t in range(rec.n_frames)]
    issues = merge_flags(found, frame_flags)
    quality = frame_quality(present, area_px, confidence, edited_frames, issues)
    return LvCurves("slice-summation", vol, area_px, area_px * px_area, np.full(rec.n_frames, np.nan), quality,
                    endo, epi, tuple(tuple(r) for r in rv_contours))
