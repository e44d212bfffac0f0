"""Measurements from contours: volume curve, ED/ES, beats, EDV/ESV/SV/EF, heart rate, quality flags.

`measure_recording` recomputes everything from the (possibly edited) contours; the viewer calls it after
every manual edit, so it stays cheap (a few ms for 100 frames). `measure_study` adds the biplane method of
disks when an A4C and an A2C recording are both present.

One short-axis slice (PSAX echo, a single cine MR slice): method "single-slice", no volume and no EF
(a slice is not a ventricle); ED/ES from the cavity area curve and the fractional area change (fac_pct).

Uncalibrated recordings: volumes are None; the disk volumes are computed in pixel units (spacing 1 x 1)
and give EF and ED/ES; `area_curve_px2` is the curve to show.

`edited` holds the names of the inputs changed by hand: "contours" (any contour edit), "ed_frames",
"es_frames". The returned Measurements.edited also names every value that depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from app.analysis.beat_trust import summarise_beats
from app.analysis.beats import split_beats
from app.analysis.edes_curve import area_jump_frames, curve_ed_es, detect_ed_es, pair_ed_es, without_spikes
from app.analysis.contours import LvContours, polygon_area_px2
from app.analysis.volumes import (
    area_length_volume_ml,
    biplane_volume_ml,
    contour_disks,
    ejection_fraction_pct,
    myocardial_mass_g,
    slice_summation_ml,
)
from app.data.recording import Recording
from app.workflow.phase_files import joined_note
from app.workflow.rv_measure import borderline_notes, rv_areas_px2, rv_volumes
from app.workflow.stack_phases import (
    is_partial_cycle,
    is_phase_pair,
    is_single_phase,
    partial_cycle_notes,
)
from app.workflow.results import (
    FLAG_AREA_JUMP,
    FLAG_CAVITY_SPLIT,
    FLAG_EDITED,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_CONTOUR,
    AnalysisError,
    FrameContours,
    Measurements,
    RecordingAnalysis,
    StudyMeasurements,
)

LOW_CONFIDENCE = 0.5
SHORT_AXIS_VIEWS = ("psax", "sax")
# Below this fraction of frames with an LV contour the curve is mostly gap filling: no EDV/ESV/EF unless the
# user has drawn contours (a synthetic ring stack the MRI model found an LV in on 2 of 20 phases otherwise
# gave EDV = ESV = 0.03 ml, EF 0 %).
MIN_LV_FRAME_FRACTION = 0.5
# A calibrated cavity smaller than this is not counted as an LV found (a premature infant's end-systolic
# apical cavity is about 1 cm^2): on a clip of speckle noise the echo model finds "cavities" of 0-2 cm^2,
# mostly under 0.5, which otherwise gave EDV 0.0 ml and an EF of 51 %.
MIN_LV_AREA_MM2 = 50.0
_RV_VALUES = frozenset({"rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"})
_VOLUME_DEPENDENTS = frozenset({"edv_ml", "esv_ml", "sv_ml", "ef_pct", "volume_curve_ml", "beats",
                                "edv_area_length_ml", "esv_area_length_ml", "lv_mass_g", "fac_pct"}) | _RV_VALUES
_ED_DEPENDENTS = frozenset({"edv_ml", "sv_ml", "ef_pct", "beats", "heart_rate_bpm", "edv_area_length_ml",
                            "lv_mass_g", "fac_pct", "rv_edv_ml", "rv_sv_ml",
                            "rv_ef_pct"})  # heart rate: ED to ED; mass: at ED
_ES_DEPENDENTS = frozenset({"esv_ml", "sv_ml", "ef_pct", "beats", "esv_area_length_ml", "fac_pct",
                            "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"})


def _scale(recording: Recording) -> tuple[float, float]:
    return tuple(recording.spacing_mm) if recording.calibrated else (1.0, 1.0)


def frame_disks(recording: Recording, contours: LvContours | None, with_chords: bool = True):
    """Disks (in mm, or px units when uncalibrated) of one long-axis frame, or None."""
    return contour_disks(contours, _scale(recording), with_chords)


def disk_chords_px(recording: Recording, contours: LvContours | None) -> np.ndarray | None:
    """(20, 2, 2) end points (x, y) in pixels of each disk chord, to draw the method of disks."""
    disks = frame_disks(recording, contours)
    if disks is None:
        return None
    sp = _scale(recording)
    return disks.chords_mm / np.array([sp[1], sp[0]])


def _long_axis_curves(recording: Recording, frames: Sequence[LvContours | None]):
    """(volume, area_px2, area_mm2, length_mm) per frame; NaN without contours."""
    n = len(frames)
    vol, area_px, area_mm, length = (np.full(n, np.nan) for _ in range(4))
    sp = _scale(recording)
    for t, c in enumerate(frames):
        if c is None:
            continue
        area_px[t] = polygon_area_px2(c.endo_px)
        area_mm[t] = area_px[t] * sp[0] * sp[1]
        disks = frame_disks(recording, c, with_chords=False)
        if disks is not None:
            vol[t], length[t] = disks.volume_ml, disks.length_mm
    return vol, area_px, area_mm, length


def _quality(frames_present: np.ndarray, area: np.ndarray, confidence, edited_frames, issues) -> tuple:
    n = len(area)
    flags: list[list[str]] = [[] for _ in range(n)]
    # app.analysis.edes_curve: implausible against both neighbours; a split cavity's piece is no neighbour
    split = [t for t in range(n) if FLAG_CAVITY_SPLIT in issues[t]]
    jumps = set(area_jump_frames(np.where(np.isin(np.arange(n), split), np.nan, area)))
    for t in range(n):
        if not frames_present[t]:
            flags[t].append(FLAG_NO_CONTOUR)
            continue
        flags[t].extend(issues[t])
        if confidence is not None and np.isfinite(confidence[t]) and confidence[t] < LOW_CONFIDENCE:
            flags[t].append(FLAG_LOW_CONFIDENCE)
        if t in jumps:
            flags[t].append(FLAG_AREA_JUMP)
    for t in edited_frames:
        if 0 <= t < n:
            flags[t].append(FLAG_EDITED)
    return tuple(tuple(dict.fromkeys(f)) for f in flags)


def _merge_flags(issues: list, frame_flags) -> list:
    if not frame_flags:
        return issues
    out = list(issues)
    for t, flags in frame_flags.items():
        if 0 <= int(t) < len(out):
            out[int(t)] = tuple(out[int(t)]) + tuple(flags)
    return out


def _edited_closure(edited) -> frozenset[str]:
    names = set(edited)
    if any(str(n).startswith("contours") for n in names):
        names |= _VOLUME_DEPENDENTS
    if "ed_frames" in names:
        names |= _ED_DEPENDENTS
    if "es_frames" in names:
        names |= _ES_DEPENDENTS  # moving ES alone leaves EDV and the heart rate as measured
    return frozenset(names)


@dataclass(frozen=True, eq=False)
class LvCurves:
    """What the contours of one recording give before ED/ES are known (the first half of measuring).

    method: "monoplane", "single-slice" or "slice-summation"; volume: (T,) the curve ED/ES come from (disk
    volumes, ml or px units; the area for a single slice); area_px/area_mm/length: (T,) per-frame curves;
    quality: per-frame flags. Stacks also keep the (S, T) endo/epi areas (px^2) and the RV borders.
    """

    method: str
    volume: np.ndarray
    area_px: np.ndarray
    area_mm: np.ndarray
    length: np.ndarray
    quality: tuple[tuple[str, ...], ...]
    endo_px2: np.ndarray | None = None
    epi_px2: np.ndarray | None = None
    rv_contours: tuple = ()

    def ed_es_curve(self, recording: Recording) -> np.ndarray:
        """The (T,) curve ED/ES are checked on: the volume (ml) when calibrated, else the area (px^2), area-jump
        frames NaN (app.analysis.edes_curve.without_spikes)."""
        volumes = recording.calibrated and self.method != "single-slice"
        return without_spikes(np.array(self.volume if volumes else self.area_px, dtype=np.float64),
                              spike_frames(self.quality))


def trace_curves(
    recording: Recording,
    contours_per_frame,
    *,
    confidence: np.ndarray | None = None,
    edited_frames: Sequence[int] = (),
    frame_flags: Mapping[int, Sequence[str]] | None = None,
    rv_contours=None,
) -> LvCurves:
    """The curves and quality flags of one recording's contours (arguments as measure_recording)."""
    if recording.is_stack:
        if rv_contours is None:
            rv_contours = [fc.rv if isinstance(fc, FrameContours) else () for fc in contours_per_frame]
        return _stack_curves(recording, contours_per_frame, confidence, edited_frames, frame_flags, rv_contours)
    frames = list(contours_per_frame)
    if len(frames) != recording.n_frames:
        raise AnalysisError(f"{len(frames)} contour frames for a recording of {recording.n_frames} frames")
    vol, area_px, area_mm, length = _long_axis_curves(recording, frames)
    present = np.array([c is not None for c in frames])
    issues = [() if c is None else c.issues for c in frames]
    issues = _merge_flags(issues, frame_flags)
    quality = _quality(present, area_px, confidence, edited_frames, issues)
    if is_single_short_axis(recording):
        vol = area_mm if recording.calibrated else area_px  # the curve ED/ES and the area change come from
        return LvCurves("single-slice", vol, area_px, area_mm, length, quality)
    return LvCurves("monoplane", vol, area_px, area_mm, length, quality)


def measure_curves(recording: Recording, curves: LvCurves, ed_frames: Sequence[int] | None = None,
                   es_frames: Sequence[int] | None = None, edited=frozenset()) -> Measurements:
    """The second half of measuring: ED/ES (given, else from the curve), beats, volumes, EF, notes."""
    if curves.method == "slice-summation":
        m = _measure_stack(recording, curves, ed_frames, es_frames, edited)
    else:
        file_hr = recording.heart_rate_bpm
        if curves.method == "single-slice":
            file_hr = file_hr or gated_cycle_heart_rate_bpm(recording)
        m = _assemble(recording, curves.method, curves.volume, curves.area_px, curves.area_mm, curves.length,
                      ed_frames, es_frames, edited, curves.quality, file_hr)
    joined = joined_note(recording)  # one file per phase (app.workflow.phase_files)
    return replace(m, notes=tuple(m.notes) + joined) if joined else m


def measure_recording(
    recording: Recording,
    contours_per_frame,
    ed_frames: Sequence[int] | None = None,
    es_frames: Sequence[int] | None = None,
    edited=frozenset(),
    *,
    confidence: np.ndarray | None = None,
    edited_frames: Sequence[int] = (),
    frame_flags: Mapping[int, Sequence[str]] | None = None,
    rv_contours=None,
) -> Measurements:
    """Measurements of one recording from its contours: trace_curves, then measure_curves.

    contours_per_frame: FrameContours / sequence of LvContours|None (T,) for a 2D+t recording, or a
    sequence of S of those (one per slice, base to apex) for a short-axis stack.
    ed_frames / es_frames: given (e.g. edited) frames, else detected from the volume curve.
    confidence: (T,) per-frame segmentation confidence for the quality flags; edited_frames: frames whose
    contours were edited by hand (flagged "edited"); frame_flags: more flags per frame from the segmenter
    (RecordingAnalysis.segmenter_flags; pass them again when re-measuring after an edit).
    rv_contours: for a stack, per slice a sequence (T,) of closed RV borders (N, 2) or None; by default the
    `rv` of each slice's FrameContours (app.workflow.rv_measure measures them).
    """
    curves = trace_curves(recording, contours_per_frame, confidence=confidence, edited_frames=edited_frames,
                          frame_flags=frame_flags, rv_contours=rv_contours)
    return measure_curves(recording, curves, ed_frames, es_frames, edited)


def is_single_short_axis(recording: Recording) -> bool:
    """One short-axis slice over time: a cine MR recording that is not a stack, or a PSAX echo clip."""
    return not recording.is_stack and (recording.modality == "mri" or recording.view in SHORT_AXIS_VIEWS)


def _assemble(rec, method, vol, area_px, area_mm, length, ed_frames, es_frames, edited, quality, file_hr,
              lv_mass_g=None) -> Measurements:
    vol_all = vol
    vol = without_spikes(vol, spike_frames(quality))
    single = method == "single-slice"
    if ed_frames is None or es_frames is None:  # a cine MR slice is one gated cycle, as a stack
        periodic = single and rec.is_gated_cycle
        detected = curve_ed_es(vol, rec.frame_rate_hz, periodic=periodic)
        ed_frames = detected[0] if ed_frames is None else ed_frames
        es_frames = detected[1] if es_frames is None else es_frames
    ed = tuple(sorted(int(f) for f in ed_frames))
    es = tuple(sorted(int(f) for f in es_frames))
    nominal_timing = bool(rec.frame_times_nominal)
    cal = rec.calibrated
    found = np.isfinite(vol_all)
    if cal:
        found &= np.nan_to_num(np.asarray(area_mm, dtype=np.float64), nan=0.0) >= MIN_LV_AREA_MM2
    n_found = int(found.sum())
    sparse = _too_few_lv_frames(n_found, len(vol_all), quality)
    beat_curve = without_spikes(vol_all, split_frames(quality))  # a split cavity's volume: interpolated
    stats = summarise_beats(() if sparse else split_beats(beat_curve, ed, es,
                                                          None if nominal_timing else rec.frame_times_s))
    beats, used = stats.beats, stats.trusted
    volumes = cal and not single
    al_ed = al_es = None
    if cal and used and method == "monoplane" and np.isfinite(length).any():
        al_ed = float(np.nanmedian([area_length_volume_ml(area_mm[b.ed_frame], length[b.ed_frame]) for b in used]))
        al_es = float(np.nanmedian([area_length_volume_ml(area_mm[b.es_frame], length[b.es_frame]) for b in used]))
    return Measurements(
        method=method,
        view=rec.view,
        calibrated=cal,
        n_frames=rec.n_frames,
        ed_frames=ed,
        es_frames=es,
        beats=beats,
        edv_ml=stats.ed_value if volumes else None,
        esv_ml=stats.es_value if volumes else None,
        sv_ml=stats.stroke_value if volumes else None,
        ef_pct=None if single else stats.ef_pct,
        heart_rate_bpm=stats.heart_rate_bpm if stats.heart_rate_bpm is not None else file_hr,
        volume_curve_ml=vol_all if volumes else None,
        area_curve_px2=area_px,
        area_curve_mm2=area_mm if cal else None,
        length_curve_mm=length if cal and method == "monoplane" else None,
        edv_area_length_ml=al_ed,
        esv_area_length_ml=al_es,
        lv_mass_g=lv_mass_g if cal else None,
        edited=_edited_closure(edited),
        quality=quality,
        source=str(rec.source_path) if rec.source_path else "",
        notes=_notes(rec, cal, nominal_timing, beats, ed, es, n_found if sparse else None, single, stats.ef_pct)
        + _trust_note(rec, stats.note) + _shape_note(rec, vol_all, cal, single),
        fac_pct=stats.ef_pct if single else None,  # (EDA - ESA) / EDA: the "EF" of an area curve
    )


def gated_cycle_heart_rate_bpm(rec: Recording) -> float | None:
    """Heart rate of a gated cine MR stack (or slice) whose file gives none: one RR interval = phases x phase interval.

    Retrospective gating spreads the phases over the whole RR interval (Sunnybrook: 20 x 46 ms against a
    nominal interval of 923 ms). None when the frame timing is nominal (not from the file).
    """
    rate_hz = rec.frame_rate_hz
    if not rec.is_gated_cycle or rec.frame_times_nominal or not rate_hz:
        return None
    return 60.0 * rate_hz / rec.n_frames


def spike_frames(quality) -> list[int]:
    """Area-jump and cavity-split frames not edited by hand: left out of the curve ED/ES come from
    (without_spikes)."""
    unreliable = (FLAG_AREA_JUMP, FLAG_CAVITY_SPLIT)
    return [t for t, flags in enumerate(quality) if any(f in flags for f in unreliable) and FLAG_EDITED not in flags]


def split_frames(quality) -> list[int]:
    """Cavity-split frames not edited by hand: the contour keeps the largest piece of a cavity cut in two, so
    the frame's volume is too small; an ED or ES there takes the volume interpolated from its neighbours."""
    return [t for t, flags in enumerate(quality) if FLAG_CAVITY_SPLIT in flags and FLAG_EDITED not in flags]


def _too_few_lv_frames(n_found: int, n_frames: int, quality) -> bool:
    """The segmentation found an LV in too few frames to measure, and the user has not drawn any."""
    drawn = any(FLAG_EDITED in flags for flags in quality)
    return not drawn and n_found < max(min(3, n_frames), MIN_LV_FRAME_FRACTION * n_frames)


def _trust_note(rec, note: str) -> tuple[str, ...]:
    """The beat-trust note (app.analysis.beat_trust), but not "RR not checked" on a gated cine MR cycle or
    an ED/ES pair, which have no RR interval to check."""
    if not note or ((rec.is_gated_cycle or rec.n_frames <= 2) and note.startswith("RR interval not checked")):
        return ()
    return (note,)


def _shape_note(rec, curve, calibrated: bool, single: bool) -> tuple[str, ...]:
    """What a 2-frame recording (an ED/ES pair) or one still frame gives (a short-axis stack says it in
    app.workflow.stack_phases)."""
    if rec.is_stack:
        return ()
    if rec.n_frames == 2:
        return ("two frames: read as an ED/ES pair (ED = the frame with the larger LV, ES = the smaller), "
                "no heart rate",)
    if rec.n_frames != 1:
        return ()
    value = float(curve[0]) if len(curve) and np.isfinite(curve[0]) else None
    what = "area" if single else "volume"
    unit = ("mm^2" if single else "ml") if calibrated else ("px^2" if single else "px^3")
    found = f"{what} {value:.1f} {unit}" if value is not None else f"no LV found, so no {what}"
    return (f"one still frame: its contours and {found}; no ED/ES, EF or heart rate",)


def _notes(rec, calibrated: bool, nominal_timing: bool, beats, ed, es, sparse_lv_frames: int | None,
           single: bool = False, fac_pct: float | None = None) -> tuple[str, ...]:
    """sparse_lv_frames: the number of frames with an LV when too few to measure (_too_few_lv_frames);
    single: method "single-slice", whose fractional area change is fac_pct."""
    notes = list(rec.reader_notes)
    if single:
        fac = f"; fractional area change {fac_pct:.0f} %" if fac_pct is not None else ""
        notes.append("one short-axis slice: no volumes or EF (open the whole short-axis stack for slice "
                     f"summation){fac}")
    sparse = sparse_lv_frames is not None
    if sparse:
        notes.append(f"the LV was found in only {sparse_lv_frames} of {rec.n_frames} frames: no EDV/ESV/EF "
                     "(check the recording and the view, or draw the LV at ED and ES)")
    if not calibrated:
        notes.append("uncalibrated: the pixel spacing is unknown, so areas are in pixels (FAC is unit-free)" if single
                     else "uncalibrated: the pixel spacing is unknown, so volumes are not computed; EF from "
                          "pixel-unit volumes (calibrate a length to get ml)")
    if nominal_timing:
        notes.append("the file gives no frame timing: heart rate not measured")
    if beats and all(b.es_frame < b.ed_frame for b in beats) and not rec.is_gated_cycle and rec.n_frames > 2:
        # (a gated cine MR cycle wraps: its systole from a late ED runs on into the next cycle's phases)
        notes.append("the clip holds no ED -> ES systole: EDV/ESV/EF from the ES -> ED filling phase")
    if not beats and not sparse and rec.n_frames > 1:
        notes.append("no complete ED -> ES pair found: no EDV/ESV/EF" if (ed or es) else
                     "no cardiac cycle found in the volume curve")
    return tuple(notes)


def _stack_curves(rec, per_slice, confidence, edited_frames, frame_flags, rv_contours) -> LvCurves:
    slices = [list(fc) for fc in per_slice]
    if len(slices) != rec.n_slices or any(len(s) != rec.n_frames for s in slices):
        raise AnalysisError(f"contours must be {rec.n_slices} slices x {rec.n_frames} frames")
    if not rec.slice_spacing_mm:
        raise AnalysisError("the short-axis stack has no slice spacing: slice summation is impossible")
    sp = _scale(rec)
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
    issues = [tuple(dict.fromkeys(i for s in slices if s[t] is not None for i in s[t].issues))
              for t in range(rec.n_frames)]
    issues = _merge_flags(issues, frame_flags)
    quality = _quality(present, area_px, confidence, edited_frames, issues)
    return LvCurves("slice-summation", vol, area_px, area_px * px_area, np.full(rec.n_frames, np.nan), quality,
                    endo, epi, tuple(tuple(r) for r in rv_contours))


def _measure_stack(rec, curves: LvCurves, ed_frames, es_frames, edited) -> Measurements:
    vol, endo, epi = curves.volume, curves.endo_px2, curves.epi_px2
    sp = _scale(rec)
    px_area = sp[0] * sp[1]
    step = float(rec.slice_spacing_mm)
    if ed_frames is None or es_frames is None:
        detected = None
        if is_phase_pair(rec):  # ED/ES pair: ED = the larger LV (app.workflow.stack_phases)
            detected = pair_ed_es(vol)
        elif np.isfinite(vol).sum() >= 3:  # cine MR is one gated cycle: ED (at the trigger) is found once, across the wrap
            detected = detect_ed_es(vol, rec.frame_rate_hz, periodic=True)
        if detected is not None:
            ed_frames = detected[0] if ed_frames is None else ed_frames
            es_frames = detected[1] if es_frames is None else es_frames
    partial = is_partial_cycle(rec)
    heart_rate = rec.heart_rate_bpm or (None if partial else gated_cycle_heart_rate_bpm(rec))
    m = _assemble(rec, "slice-summation", vol, curves.area_px, curves.area_mm, curves.length,
                  ed_frames, es_frames, edited, curves.quality, heart_rate)
    beats = [b for b in m.beats if b.trusted] or list(m.beats)  # as the LV's medians (app.analysis.beat_trust)
    mass_frames = [b.ed_frame for b in beats] or ([0] if is_single_phase(rec) else [])
    if mass_frames and rec.calibrated and np.isfinite(epi).any():
        masses = [myocardial_mass_g(endo[:, t] * px_area, epi[:, t] * px_area, step) for t in mass_frames]
        m = replace(m, lv_mass_g=float(np.mean(masses)))
    rv_areas = rv_areas_px2(curves.rv_contours, rec.n_slices, rec.n_frames) if rec.calibrated else None
    rv = None if rv_areas is None else rv_volumes(rv_areas, px_area, step, beats)
    if rv is not None:
        m = replace(m, rv_edv_ml=rv.edv_ml, rv_esv_ml=rv.esv_ml, rv_sv_ml=rv.sv_ml, rv_ef_pct=rv.ef_pct,
                    rv_volume_curve_ml=rv.volume_curve_ml)
        if rv.esv_ml is not None:
            m = replace(m, notes=tuple(m.notes) + borderline_notes(m.quality, beats))
    if partial:
        notes = [n for n in m.notes if not n.startswith("no cardiac cycle found")]
        more = partial_cycle_notes(rec, m.volume_curve_ml, None if rv is None else rv.volume_curve_ml)
        m = replace(m, notes=tuple(notes) + more)
    return m


# -- biplane ------------------------------------------------------------------------------------
def _mean_disks(recording, contours, frames):
    found = [frame_disks(recording, contours[f]) for f in frames]
    found = [d for d in found if d is not None]
    if not found:
        return None, None
    return np.mean([d.diameters_mm for d in found], axis=0), float(np.mean([d.length_mm for d in found]))


def biplane_measurements(a4c, a2c) -> Measurements | None:
    """Biplane disks from two (recording, contours, measurements) triples (A4C, A2C), or None."""
    (rec4, c4, m4), (rec2, c2, m2) = a4c, a2c
    beats4, beats2 = ([b for b in m.beats if b.trusted] for m in (m4, m2))
    if not beats4 or not beats2:
        return None
    ed4, l_ed4 = _mean_disks(rec4, c4, [b.ed_frame for b in beats4])
    es4, l_es4 = _mean_disks(rec4, c4, [b.es_frame for b in beats4])
    ed2, l_ed2 = _mean_disks(rec2, c2, [b.ed_frame for b in beats2])
    es2, l_es2 = _mean_disks(rec2, c2, [b.es_frame for b in beats2])
    if any(x is None for x in (ed4, es4, ed2, es2)):
        return None
    edv = biplane_volume_ml(ed4, ed2, l_ed4, l_ed2)
    esv = biplane_volume_ml(es4, es2, l_es4, l_es2)
    cal = rec4.calibrated and rec2.calibrated
    rates = [m.heart_rate_bpm for m in (m4, m2) if m.heart_rate_bpm is not None]
    return Measurements(
        method="biplane", view="a4c+a2c", calibrated=cal, n_frames=0, ed_frames=(), es_frames=(), beats=(),
        edv_ml=edv if cal else None, esv_ml=esv if cal else None, sv_ml=edv - esv if cal else None,
        ef_pct=ejection_fraction_pct(edv, esv), heart_rate_bpm=float(np.mean(rates)) if rates else None,
        volume_curve_ml=None, area_curve_px2=np.zeros(0), edited=m4.edited | m2.edited,
    )


def measure_study(items) -> StudyMeasurements:
    """items: RecordingAnalysis objects or (recording, contours, measurements) triples of one study."""
    triples = []
    for item in items:
        if isinstance(item, RecordingAnalysis):
            triples.append((item.recording, item.contours, item.measurements))
        else:
            triples.append(tuple(item))
    by_view = {}
    for rec, contours, m in triples:
        if not rec.is_stack and isinstance(contours, (FrameContours, list, tuple)):
            by_view.setdefault(rec.view, (rec, list(contours), m))
    biplane = None
    if "a4c" in by_view and "a2c" in by_view:
        biplane = biplane_measurements(by_view["a4c"], by_view["a2c"])
    return StudyMeasurements(tuple(m for _, _, m in triples), biplane)
