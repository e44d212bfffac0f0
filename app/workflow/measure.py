"""Measurements from contours: volume curve, ED/ES, beats, EDV/ESV/SV/EF, heart rate, quality flags.

Everything is recomputed from the (possibly edited) contours by `trace_curves` (the contours as per-frame curves
with quality flags: app/workflow/lv_curves.py) then `measure_curves` (beats, volumes, notes at the ED/ES given:
here); the analysis' measuring step (app.workflow.analyze.measure) runs the two, at the first analysis and again
after every manual edit, so they stay cheap (benchmarks/measurements.py). `curve_events` is the one rule for ED/ES
from the curve alone (the analysis' ED/ES step uses it where the detector gives none). The study-level values:
app.workflow.study_result.

One short-axis slice (PSAX echo, a single cine MR slice): method "single-slice", no volume and no EF
(a slice is not a ventricle); ED/ES from the cavity area curve and the fractional area change (fac_pct).

Uncalibrated recordings: volumes are None; the disk volumes are computed in pixel units (spacing 1 x 1)
and give EF and ED/ES; `area_curve_px2` is the curve to show.

`edited` holds the names of the inputs changed by hand: "contours" (any contour edit), "ed_frames",
"es_frames". The returned Measurements.edited also names every value that depends on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from app.analysis.beat_trust import BeatSummary, summarise_beats
from app.analysis.beats import Beat, split_beats
from app.analysis.edes_curve import curve_ed_es, detect_ed_es, pair_ed_es, without_spikes
from app.analysis.slice_coverage import slice_coverage
from app.analysis.volumes import area_length_volume_ml, myocardial_mass_g
from app.data.recording import Recording
from app.workflow.frame_quality import spike_frames, split_frames
from app.workflow.lv_curves import PLAX_NOTE, LvCurves, no_disks_view, pixel_scale
from app.workflow.measure_notes import (
    beat_spread_note,
    coverage_notes,
    file_heart_rate_note,
    little_ejection_note,
    recording_notes,
    shape_note,
    stroke_volume_note,
    trust_note,
    view_unset_note,
)
from app.workflow.phase_files import joined_note
from app.workflow.results import FLAG_EDITED, HR_FROM_BEATS, HR_FROM_FILE, HR_FROM_GATED_CYCLE, Measurements, Method
from app.workflow.rv_measure import borderline_notes, rv_areas_px2, rv_volumes
from app.workflow.stack_phases import is_partial_cycle, is_phase_pair, is_single_phase, partial_cycle_notes

# Below this fraction of frames with an LV contour the curve is mostly gap filling: no EDV/ESV/EF unless the
# user has drawn contours (a synthetic ring stack the MRI model found an LV in on 2 of 20 phases otherwise
# gave EDV = ESV = 0.03 ml, EF 0 %).
MIN_LV_FRAME_FRACTION = 0.5
# A calibrated cavity smaller than this is not counted as an LV found (a premature infant's end-systolic
# apical cavity is about 1 cm^2): on a clip of speckle noise the echo model finds "cavities" of 0-2 cm^2,
# mostly under 0.5, which otherwise gave EDV 0.0 ml and an EF of 51 %.
MIN_LV_AREA_MM2 = 50.0
_RV_VALUES = frozenset({"rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"})
# The strain is tracked from the contours and its peaks are taken between ED and ES: an edit of either moves it
# (the viewer re-tracks it on the edited contours: app/workflow/retrack.py).
_STRAIN_VALUES = frozenset({"gls_pct"})
_VOLUME_DEPENDENTS = frozenset({"edv_ml", "esv_ml", "sv_ml", "ef_pct", "volume_curve_ml", "beats",
                                "edv_area_length_ml", "esv_area_length_ml", "lv_mass_g", "fac_pct"}) | _RV_VALUES \
    | _STRAIN_VALUES
_ED_DEPENDENTS = frozenset({"edv_ml", "sv_ml", "ef_pct", "beats", "heart_rate_bpm", "edv_area_length_ml",
                            "lv_mass_g", "fac_pct", "rv_edv_ml", "rv_sv_ml",
                            "rv_ef_pct"}) | _STRAIN_VALUES  # heart rate: ED to ED; mass: at ED
_ES_DEPENDENTS = frozenset({"esv_ml", "sv_ml", "ef_pct", "beats", "esv_area_length_ml", "fac_pct",
                            "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"}) | _STRAIN_VALUES


# The values a method never gives: an edit does not name them (an echo clip's edit had listed the RV, the mass, FAC)
_NOT_GIVEN_BY: dict[str, frozenset[str]] = {
    "monoplane": _RV_VALUES | {"lv_mass_g", "fac_pct"},
    "slice-summation": _STRAIN_VALUES | {"fac_pct", "edv_area_length_ml", "esv_area_length_ml"},
    "single-slice": _RV_VALUES | _STRAIN_VALUES | {"lv_mass_g", "edv_area_length_ml", "esv_area_length_ml"},
}


def _edited_closure(edited: Iterable[str]) -> frozenset[str]:
    names = set(edited)
    if any(str(n).startswith("contours") for n in names):
        names |= _VOLUME_DEPENDENTS
    if "ed_frames" in names:
        names |= _ED_DEPENDENTS
    if "es_frames" in names:
        names |= _ES_DEPENDENTS  # moving ES alone leaves EDV and the heart rate as measured
    return frozenset(names)


def curve_events(recording: Recording, curves: LvCurves) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ED/ES frames from the LV curve alone, the one rule wherever no detector's or user's frames are given:
    a short-axis ED/ES pair by its larger LV; a stack (one gated cycle) with ED found once across the wrap; a
    clip or slice by its curve's extrema (app.analysis.edes_curve), a gated cine MR slice as one cycle."""
    vol = np.asarray(curves.volume, dtype=np.float64)
    if curves.method == "slice-summation":
        if is_phase_pair(recording):  # ED/ES pair: ED = the larger LV (app.workflow.stack_phases)
            return _frames(pair_ed_es(vol))
        if np.isfinite(vol).sum() >= 3:
            return _frames(detect_ed_es(vol, recording.frame_rate_hz, periodic=True))
    periodic = curves.method == "single-slice" and recording.is_gated_cycle
    clean = without_spikes(vol, spike_frames(curves.quality))
    return _frames(curve_ed_es(clean, recording.frame_rate_hz, periodic=periodic))


def _frames(found: tuple[Iterable[int], Iterable[int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ed, es = found
    return tuple(sorted(int(f) for f in ed)), tuple(sorted(int(f) for f in es))


def measure_curves(recording: Recording, curves: LvCurves, ed_frames: Sequence[int] | None = None,
                   es_frames: Sequence[int] | None = None, edited: Iterable[str] = frozenset()) -> Measurements:
    """The second half of measuring: beats, volumes, EF, notes at the ED/ES given (the analysis' ED/ES step
    always gives them; a caller without frames, such as the viewer's recording whose ED/ES were never found,
    gets curve_events)."""
    if ed_frames is None or es_frames is None:
        found_ed, found_es = curve_events(recording, curves)
        ed_frames = found_ed if ed_frames is None else ed_frames
        es_frames = found_es if es_frames is None else es_frames
    if curves.method == "slice-summation":
        m = _measure_stack(recording, curves, ed_frames, es_frames, edited)
    else:
        gated = curves.method == "single-slice"
        m = _assemble(recording, curves.method, curves.volume, curves.area_px, curves.area_mm, curves.length,
                      ed_frames, es_frames, edited, curves.quality, _file_heart_rate(recording, gated))
    joined = joined_note(recording)  # one file per phase (app.workflow.phase_files)
    return replace(m, notes=tuple(m.notes) + joined) if joined else m


def _assemble(rec: Recording, method: Method, vol: np.ndarray, area_px: np.ndarray, area_mm: np.ndarray,
              length: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], edited: Iterable[str],
              quality: tuple[tuple[str, ...], ...], file_hr: tuple[float | None, str]) -> Measurements:
    vol_all = vol
    single = method == "single-slice"
    ed = tuple(sorted(int(f) for f in ed_frames))
    es = tuple(sorted(int(f) for f in es_frames))
    nominal_timing = bool(rec.frame_times_nominal)
    cal = rec.calibrated
    stats, n_found, sparse = _beat_stats(rec, vol_all, area_mm, quality, ed, es)
    beats, used = stats.beats, stats.trusted
    hr_bpm, hr_source = (stats.heart_rate_bpm, HR_FROM_BEATS) if stats.heart_rate_bpm is not None else file_hr
    plax = no_disks_view(rec)  # (an analysed clip whose view the user then set to PLAX)
    volumes = cal and not single and not plax
    al_ed = al_es = None
    if volumes and used and method == "monoplane" and np.isfinite(length).any():
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
        ef_pct=None if single or plax else stats.ef_pct,
        heart_rate_bpm=hr_bpm,
        heart_rate_source=hr_source if hr_bpm is not None else "",
        volume_curve_ml=vol_all if volumes else None,
        area_curve_px2=area_px,
        area_curve_mm2=area_mm if cal else None,
        length_curve_mm=length if cal and method == "monoplane" else None,
        edv_area_length_ml=al_ed,
        esv_area_length_ml=al_es,
        edited=_edited_closure(edited) - _NOT_GIVEN_BY.get(method, frozenset())
        - ({"heart_rate_bpm"} if hr_source == HR_FROM_FILE else set()),
        quality=quality,
        source=str(rec.source_path) if rec.source_path else "",
        notes=recording_notes(rec, cal, nominal_timing, beats, ed, es, n_found if sparse else None, single,
                              stats.ef_pct) + trust_note(rec, stats.note) + beat_spread_note(beats)
        + (file_heart_rate_note(beats, hr_bpm) if hr_source == HR_FROM_FILE else ())
        + shape_note(rec, vol_all, area_px, cal, single, lv_found=n_found > 0) + ((PLAX_NOTE,) if plax else ())
        + view_unset_note(rec, method, None if single or plax else stats.ef_pct)
        + little_ejection_note(rec, None if single or plax else stats.ef_pct),
        fac_pct=stats.ef_pct if single else None,  # (EDA - ESA) / EDA: the "EF" of an area curve
    )


def _beat_stats(rec: Recording, vol_all: np.ndarray, area_mm: np.ndarray, quality: Sequence[Sequence[str]],
                ed: tuple[int, ...], es: tuple[int, ...]) -> tuple[BeatSummary, int, bool]:
    """(BeatStats of the curve's beats between the ED/ES, frames with an LV found, too few of them to measure)."""
    found = np.isfinite(vol_all)
    if rec.calibrated:
        found &= np.nan_to_num(np.asarray(area_mm, dtype=np.float64), nan=0.0) >= MIN_LV_AREA_MM2
    n_found = int(found.sum())
    sparse = _too_few_lv_frames(n_found, len(vol_all), quality)
    beat_curve = without_spikes(vol_all, split_frames(quality))  # a split cavity's volume: interpolated
    # an ED/ES pair's two frames (CAMUS, an MR stack of two phases) are not a systole's time apart
    times = None if rec.frame_times_nominal or rec.n_frames <= 2 else rec.frame_times_s
    beats = () if sparse else split_beats(beat_curve, ed, es, times)
    return summarise_beats(beats, beat_curve, rec.frame_rate_hz), n_found, sparse


def curve_beats(recording: Recording, curves: LvCurves, ed_frames: Iterable[int], es_frames: Iterable[int]
                ) -> tuple[Beat, ...]:
    """The beats (app.analysis.beat_trust, trusted or not) the measuring step finds between these ED/ES frames:
    what the ED/ES step judges its events by."""
    ed = tuple(sorted(int(f) for f in ed_frames))
    es = tuple(sorted(int(f) for f in es_frames))
    return _beat_stats(recording, curves.volume, curves.area_mm, curves.quality, ed, es)[0].beats


def _file_heart_rate(rec: Recording, gated: bool) -> tuple[float | None, str]:
    """The heart rate where no trusted beat gives one, and its source: the file's own value, else (when `gated`,
    a whole gated cine cycle) its phases' span."""
    if rec.heart_rate_bpm:
        return rec.heart_rate_bpm, HR_FROM_FILE
    cycle_bpm = gated_cycle_heart_rate_bpm(rec) if gated else None
    return cycle_bpm, HR_FROM_GATED_CYCLE if cycle_bpm is not None else ""


def gated_cycle_heart_rate_bpm(rec: Recording) -> float | None:
    """Heart rate of a gated cine MR stack (or slice) whose file gives none: one RR interval = phases x phase interval.

    Retrospective gating spreads the phases over the whole RR interval (Sunnybrook: 20 x 46 ms against a
    nominal interval of 923 ms). None when the frame timing is nominal (not from the file).
    """
    rate_hz = rec.frame_rate_hz
    if not rec.is_gated_cycle or rec.frame_times_nominal or not rate_hz:
        return None
    return 60.0 * rate_hz / rec.n_frames


def _too_few_lv_frames(n_found: int, n_frames: int, quality: Sequence[Sequence[str]]) -> bool:
    """The segmentation found an LV in too few frames to measure, and the user has not drawn any."""
    drawn = any(FLAG_EDITED in flags for flags in quality)
    return not drawn and n_found < max(min(3, n_frames), MIN_LV_FRAME_FRACTION * n_frames)


def _with_coverage(m: Measurements, endo_px2: np.ndarray, ed_frames: Sequence[int], one_phase: bool
                   ) -> Measurements:
    """The stack's slice coverage at its (first counted) ED, or in the one phase of a one-phase stack."""
    if not ed_frames:
        return m
    t = int(ed_frames[0])
    coverage = slice_coverage(endo_px2[:, t])
    at = "in its one phase" if one_phase else f"at ED (frame {t})"
    return replace(m, slice_coverage=coverage, notes=tuple(m.notes) + coverage_notes(coverage, at))


def _measure_stack(rec: Recording, curves: LvCurves, ed_frames: Iterable[int], es_frames: Iterable[int],
                   edited: Iterable[str]) -> Measurements:
    vol, endo, epi = curves.volume, curves.endo_px2, curves.epi_px2
    assert endo is not None and epi is not None  # slice-summation curves carry both
    sp = pixel_scale(rec)
    px_area = sp[0] * sp[1]
    assert rec.slice_spacing_mm is not None  # a stack's curves need it (lv_curves)
    step = float(rec.slice_spacing_mm)
    partial = is_partial_cycle(rec)
    m = _assemble(rec, "slice-summation", vol, curves.area_px, curves.area_mm, curves.length,
                  ed_frames, es_frames, edited, curves.quality, _file_heart_rate(rec, not partial))
    beats = [b for b in m.beats if b.trusted] or list(m.beats)  # as the LV's values (app.analysis.beat_trust)
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
            m = replace(m, notes=tuple(m.notes) + borderline_notes(m.quality, beats)
                        + stroke_volume_note(m.sv_ml, rv.sv_ml))
    m = _with_coverage(m, endo, mass_frames, is_single_phase(rec))
    if partial:
        notes = [n for n in m.notes if not n.startswith("no cardiac cycle found")]
        more = partial_cycle_notes(rec, m.volume_curve_ml, None if rv is None else rv.volume_curve_ml)
        m = replace(m, notes=tuple(notes) + more)
    return m
