"""The notes that go with a recording's measurements: what the file lacked, what the recording's shape gives
(a short-axis slice, an ED/ES pair, one still frame), too few frames with an LV, no calibration or timing, no
systole in the clip, no cycle found, cycles with no ES marked, the beat-trust note (app.analysis.beat_trust),
trusted beats whose EFs are too far apart for one EF to stand for them (beat_spread_note), an EF under any
ejecting heart's (little_ejection_note), an EF from a clip whose view nobody set (view_unset_note), and on a
short-axis stack LV and RV stroke volumes too far apart (stroke_volume_note) and what the slices cover at ED
(coverage_notes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.analysis.beats import Beat
from app.analysis.slice_coverage import SliceCoverage
from app.data.recording import Recording

# The EFs of a clip's beats in sinus rhythm differ by a few points, and repeated tracings of one beat by 5-10. Trusted
# beats further apart than this are an irregular rhythm or a beat measured wrong, and their mean hides which.
BEAT_EF_SPREAD_PTS = 15.0
NO_SYSTOLE_NOTE = "the clip holds no ED -> ES systole"  # the report says it on page 1, beside the EF it weakens
BEAT_SPREAD_NOTE = "the beats' EFs differ by"  # how the note starts (the report puts it beside the EF on page 1)
VIEW_UNSET_NOTE = "the view is not set"  # (the report says it on page 1, with what the file lacked)


def view_unset_note(rec: Recording, method: str, ef_pct: float | None) -> tuple[str, ...]:
    """A note when an echo clip's EF comes from one view that nobody named: the method of discs holds only on an
    apical view cut through the apex, and the classifier's guess is not the user's word (an AVI has no view)."""
    if rec.modality != "echo" or method != "monoplane" or rec.view not in ("", "unknown") or ef_pct is None:
        return ()
    return (f"{VIEW_UNSET_NOTE}: the EF by the method of discs holds only on an apical view (A4C or A2C) through "
            "the apex; set the view",)


def beat_spread_note(beats: Sequence[Beat]) -> tuple[str, ...]:
    """A note when the trusted beats' EFs are more than BEAT_EF_SPREAD_PTS apart: the reported EF (their mean)
    then hides which beat to believe, and the reader should look at each."""
    efs = [ef for b in beats if b.trusted and (ef := b.ef_pct) is not None]
    if len(efs) < 2 or max(efs) - min(efs) <= BEAT_EF_SPREAD_PTS:
        return ()
    return (f"{BEAT_SPREAD_NOTE} {max(efs) - min(efs):.0f} points ({min(efs):.0f}-{max(efs):.0f} %): the EF is "
            "their mean; check each beat's ED/ES frames and contours (with an irregular rhythm, measure more "
            "beats)",)


# The most impaired ventricles measured still eject about 10 % of their volume. An EF under this is frames that are
# not an end-diastole and an end-systole (a pair of neighbouring frames of one clip) or contours that did not follow
# the wall; it is shown, since a heart that does not eject (mechanical support) exists, but not without a word.
MIN_EJECTING_EF_PCT = 5.0
LITTLE_EJECTION_NOTE = "the ED and ES volumes barely differ"  # how the note starts (page 1 puts it beside the EF)


def little_ejection_note(rec: Recording, ef_pct: float | None) -> tuple[str, ...]:
    """A note when the EF shown is under MIN_EJECTING_EF_PCT: what to check before believing it."""
    if ef_pct is None or ef_pct >= MIN_EJECTING_EF_PCT:
        return ()
    frames = ("the two frames are an end-diastole and an end-systole, not neighbouring frames of one clip"
              if rec.n_frames == 2 else "the ED/ES frames are an end-diastole and an end-systole")
    return (f"{LITTLE_EJECTION_NOTE} (EF {ef_pct:.1f} %, under {MIN_EJECTING_EF_PCT:.0f} %): check that {frames}, "
            "and the contours",)


# Beat-to-beat RR varies by well under this in a resting recording; a file's heart rate this far from the clip's
# own beats means the file's frame timing (or its heart rate) is wrong, and two views this far apart were not
# recorded in one state (app.workflow.study_result).
FILE_HEART_RATE_MISMATCH = 0.25


def rates_differ(a_bpm: float, b_bpm: float) -> bool:
    """The two heart rates differ by more than FILE_HEART_RATE_MISMATCH of the lower (both positive)."""
    return max(a_bpm, b_bpm) / min(a_bpm, b_bpm) - 1.0 > FILE_HEART_RATE_MISMATCH


def file_heart_rate_note(beats: Sequence[Beat], shown_bpm: float | None) -> tuple[str, ...]:
    """For a heart rate shown from the file's own value (no trusted beat measured one) when the clip's timed
    beats say otherwise: one of the two is wrong, and the reader should know which was shown."""
    rates = [bpm for b in beats if (bpm := b.heart_rate_bpm) is not None]
    if shown_bpm is None or not rates:
        return ()
    beats_bpm = float(np.median(rates))
    if not rates_differ(beats_bpm, shown_bpm):
        return ()
    return (f"the heart rate shown ({shown_bpm:.0f} bpm) is the file's own value; the clip's beats give "
            f"{beats_bpm:.0f} bpm: check the file's frame timing",)


def trust_note(rec: Recording, note: str) -> tuple[str, ...]:
    """The beat-trust note (app.analysis.beat_trust), but not "RR not checked" on a gated cine MR cycle or
    an ED/ES pair, which have no RR interval to check."""
    if not note or ((rec.is_gated_cycle or rec.n_frames <= 2) and note.startswith("RR interval not checked")):
        return ()
    return (note,)


def shape_note(rec: Recording, curve: np.ndarray, area_px2: np.ndarray, calibrated: bool, single: bool,
               lv_found: bool) -> tuple[str, ...]:
    """What a 2-frame recording (an ED/ES pair) or one still frame gives (a short-axis stack says it in
    app.workflow.stack_phases). curve: the volume (ml; the area in mm^2 for a single short-axis slice) per
    frame; area_px2: the LV area in pixels, the one size an uncalibrated still frame has; lv_found: the still
    frame's cavity counts as an LV (app.workflow.measure.MIN_LV_AREA_MM2)."""
    if rec.is_stack:
        return ()
    if rec.n_frames == 2:
        return ("two frames: read as an ED/ES pair (ED = the frame with the larger LV, ES = the smaller), "
                "no heart rate",)
    if rec.n_frames != 1:
        return ()
    value = float(curve[0]) if len(curve) and np.isfinite(curve[0]) else None
    if value is None or not lv_found:
        return ("one still frame: no LV found in it, so no area or volume",)
    if calibrated:
        found = f"area {value:.1f} mm^2" if single else f"volume {value:.1f} ml"
    else:
        found = f"area {float(area_px2[0]):.0f} px^2" + ("" if single else " (uncalibrated: no volume)")
    return (f"one still frame: its contours and {found}; no ED/ES, EF or heart rate",)


def recording_notes(rec: Recording, calibrated: bool, nominal_timing: bool, beats: Sequence[Beat], ed: Sequence[int],
                    es: Sequence[int], sparse_lv_frames: int | None,
                    single: bool = False, fac_pct: float | None = None) -> tuple[str, ...]:
    """sparse_lv_frames: the number of frames with an LV when too few to measure (_too_few_lv_frames);
    single: method "single-slice", whose fractional area change is fac_pct."""
    notes = list(rec.reader_notes)
    if single:
        fac = f"; fractional area change {fac_pct:.0f} %" if fac_pct is not None else ""
        notes.append("one short-axis slice: no volumes or EF (open the whole short-axis stack for slice "
                     f"summation){fac}")
        if rec.modality == "echo":  # (the MRI networks learned short-axis slices; the echo one apical views)
            notes.append("a PSAX echo clip: the echo network learned apical views only, so its contours here and "
                         "the FAC are not validated: check them")
    sparse = sparse_lv_frames is not None
    still = rec.n_frames == 1 and not rec.is_stack  # shape_note says what one still frame gives
    if sparse and not still:
        notes.append(f"the LV was found in only {sparse_lv_frames} of {rec.n_frames} frames: no EDV/ESV/EF "
                     "(check the recording and the view, or draw the LV at ED and ES)")
    if not calibrated:
        notes.append("uncalibrated: the pixel spacing is unknown, so areas are in pixels (FAC is unit-free)" if single
                     else "uncalibrated: the pixel spacing is unknown, so areas are in pixels and volumes are not "
                          "computed (calibrate a length to get ml)" if still
                     else "uncalibrated: the pixel spacing is unknown, so volumes are not computed; EF from "
                          "pixel-unit volumes (calibrate a length to get ml)")
    if nominal_timing and rec.n_frames > 2:  # a pair or a still frame has no heart rate to measure: it says so
        own = f" (the {rec.heart_rate_bpm:.0f} bpm shown is the file's own value)" if rec.heart_rate_bpm else ""
        notes.append(f"the file gives no frame timing: heart rate not measured{own}")
    if beats and all(b.es_frame < b.ed_frame for b in beats) and not rec.is_gated_cycle and rec.n_frames > 2:
        # (a gated cine MR cycle wraps: its systole from a late ED runs on into the next cycle's phases)
        notes.append(f"{NO_SYSTOLE_NOTE}: EDV/ESV/EF from the ES -> ED filling phase")
    unmeasured = [a for a, b in zip(ed[:-1], ed[1:], strict=True) if not any(a < f < b for f in es)]
    if unmeasured and beats and not rec.is_gated_cycle and not rec.is_stack:
        # (app.analysis.skipped_beats puts back the EDs of cycles in which TempReg-Net saw no ES)
        notes.append(_unmeasured_note(unmeasured))
    if not beats and not sparse and rec.n_frames > 1:
        notes.append("no complete ED -> ES pair found: no EDV/ESV/EF" if (ed or es) else
                     "no cardiac cycle found in the volume curve")
    return tuple(notes)


def _unmeasured_note(starts: Sequence[int]) -> str:
    """The note on cycles (ED -> next ED, starting at these frames) without an ES mark."""
    if len(starts) == 1:
        return (f"no end-systole marked in the cycle from ED at frame {starts[0]}: not measured (mark its ES to "
                "measure it)")
    frames = ", ".join(str(f) for f in starts)
    return (f"no end-systole marked in the cycles from ED at frames {frames}: not measured (mark an ES in one to "
            "measure it)")


# Without regurgitation or a shunt the two ventricles eject the same volume; the SCMR post-processing
# recommendations (Schulz-Menger et al., JCMR 2020;22:19) use the comparison as a check of the contours. In healthy
# volunteers the LV/RV stroke volume ratio by cine MR was 0.97 +- 0.06 (Sechtem et al., Radiology 1987;163:697):
# 2 SD reach 0.85, so a difference over 15 % of the larger SV is outside what healthy hearts measured. At a small SV
# that percentage falls within the tracing noise of two volumes: the same SD of 0.06 at those volunteers' SV
# (about 70 ml) is some 4 ml, 2 SD about 9 ml, hence the 10 ml floor. Both must be exceeded.
SV_MISMATCH_FRACTION = 0.15
SV_MISMATCH_ML = 10.0
SV_MISMATCH_NOTE = "LV and RV stroke volumes differ"  # how the note starts (page 1 puts it beside the values)


def stroke_volume_note(lv_sv_ml: float | None, rv_sv_ml: float | None) -> tuple[str, ...]:
    """A note when the LV and RV stroke volumes differ by more than SV_MISMATCH_ML and SV_MISMATCH_FRACTION of
    the larger: the basal slices (where the contours most often disagree) or a real regurgitation or shunt."""
    if lv_sv_ml is None or rv_sv_ml is None or not np.isfinite(lv_sv_ml) or not np.isfinite(rv_sv_ml):
        return ()
    diff_ml = abs(lv_sv_ml - rv_sv_ml)
    larger_ml = max(lv_sv_ml, rv_sv_ml)
    if diff_ml <= SV_MISMATCH_ML or diff_ml <= SV_MISMATCH_FRACTION * larger_ml:
        return ()
    return (f"{SV_MISMATCH_NOTE}: LV SV {lv_sv_ml:.0f} ml, RV SV {rv_sv_ml:.0f} ml, {diff_ml:.0f} ml apart "
            f"({100 * diff_ml / larger_ml:.0f} % of the larger): check the basal slices of both ventricles; a real "
            "difference means regurgitation or a shunt",)


APEX_CUT_NOTE = "the stack may stop short of the LV apex"  # how the note starts (page 1 says it with the data's)


def coverage_notes(coverage: SliceCoverage | None, at: str) -> tuple[str, ...]:
    """What the stack covers (app.analysis.slice_coverage) in the phase `at` names ("at ED (frame 3)"): a warning
    when its apical end slice still holds much of the LV cavity, else a short statement for the quality details;
    the basal end is measured, not judged."""
    if coverage is None:
        return ()
    apical, basal = round(100 * coverage.apical_fraction), round(100 * coverage.basal_fraction)
    if coverage.apex_cut:
        return (f"{APEX_CUT_NOTE}: its apical end slice still holds {apical} % of the largest slice's LV cavity "
                f"area {at}, so the LV volumes may be underestimated; check the apex on a long-axis view",)
    apex = f"apical end slice {apical} %" if coverage.apical_fraction > 0 else "apical end slice without LV cavity"
    base = (f"basal end slice {basal} % (check the base on a long-axis view)" if coverage.basal_fraction > 0
            else "basal end slice without LV cavity (the stack starts above the base)")
    return (f"slice coverage {at}, as a fraction of the largest slice's LV cavity area: {apex} (apex covered), "
            f"{base}",)
