"""A gated cine MR cycle's ED and ES are the phases of its largest and smallest LV volume (SCMR), through the
analysis' one ED/ES step (app.workflow.analyze.ed_es_step -> beat_extremes.at_cycle_extremes).

Before, TempReg-Net's ED stayed where the model put it and its ES slid down the curve only to the first dip of a
noisy plateau (edes_fusion.snap_to_curve), and beat_extremes skipped gated cycles: on the three Sunnybrook cines
ES at phase 8 (176.3 ml) beside the cycle's minimum at 6 (175.6 ml, SCD0000301), ES 8 (140.5 ml) beside 5 (136.0 ml,
SCD0000401), ED 17 (209.4 ml) beside the maximum at 18 (209.6 ml, SCD0000501).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_extremes import at_cycle_extremes
from app.analysis.edes_fusion import EdEsChoice, es_slide_frames, snap_to_curve
from app.data.recording import Recording, uniform_frame_times
from app.workflow import analyze
from app.workflow.lv_curves import LvCurves

# The slice-summation LV volume curves (ml per phase) `analyze` measured on the Sunnybrook cines, and the ED/ES
# the fused TempReg-Net events gave there before
SUNNYBROOK = {
    "SCD0000301": ([216.2, 212.6, 203.3, 192.3, 183.9, 177.7, 175.6, 176.4, 176.3, 177.1, 177.5, 182.0, 185.2, 188.7,
                    192.8, 202.7, 215.4, 219.8, 219.1, 216.8], (17, 8)),
    "SCD0000401": ([213.0, 209.9, 184.5, 162.0, 145.1, 136.0, 141.0, 145.5, 140.5, 154.1, 165.0, 172.2, 185.7, 194.1,
                    194.1, 193.5, 192.7, 192.3, 203.5, 216.4], (19, 8)),
    "SCD0000501": ([202.9, 197.5, 189.8, 179.7, 171.3, 164.7, 161.2, 159.8, 161.1, 163.8, 168.9, 178.9, 189.5, 196.8,
                    199.9, 202.8, 206.3, 209.4, 209.6, 206.9], (17, 7)),
}
# A synthetic cycle (relative volume): ED at 17, the global minimum at 6 before a local dip at 8 on a noisy
# end-systolic plateau; TempReg-like events ED 18, ES 10 (the ES slides 10 -> 9 -> 8 and stops)
NOISY_PLATEAU = np.array([97, 93, 86, 78, 70, 65, 60, 63, 61.5, 64, 66, 70, 75, 80, 85, 90, 95, 100, 99, 98.5])


def test_the_old_slide_stops_in_a_local_dip_the_cycle_extremes_do_not():
    radius = es_slide_frames("mri", len(NOISY_PLATEAU))
    assert snap_to_curve((10,), NOISY_PLATEAU, False, radius) == (8,)  # the fault: a plateau's local dip
    assert at_cycle_extremes(NOISY_PLATEAU, (18,), (8,)) == ((17,), (6,))
    # one ED and one ES per gated cycle, whatever number of events found it
    assert at_cycle_extremes(NOISY_PLATEAU, (0, 18), (8, 12)) == ((17,), (6,))


def test_cycle_extremes_leave_out_unmeasured_phases_and_make_no_events():
    curve = NOISY_PLATEAU.copy()
    curve[6] = np.nan  # an area-jump / cavity-split phase: never an ED or ES
    assert at_cycle_extremes(curve, (18,), (8,)) == ((17,), (8,))
    assert at_cycle_extremes(NOISY_PLATEAU, (), (8,)) == ((), (8,))  # no ED found: none is made
    assert at_cycle_extremes(np.full(20, 50.0), (3,), (9,)) == ((3,), (9,))  # flat: as given
    assert at_cycle_extremes(np.array([1.0, np.nan, np.nan, 2.0]), (3,), (0,)) == ((3,), (0,))  # under 3 measured


def _stack_recording(n_frames: int, modality: str = "mri") -> Recording:
    return Recording(np.zeros((2, n_frames, 8, 8), np.float32), (1.5, 1.5), uniform_frame_times(n_frames, 21.7),
                     modality, "sax", slice_spacing_mm=10.0)


def _curves(volume) -> LvCurves:
    v = np.asarray(volume, np.float64)
    return LvCurves("slice-summation", v, v * 100.0, v * 150.0, np.full(len(v), np.nan), ((),) * len(v))


@pytest.mark.parametrize("case", sorted(SUNNYBROOK))
@pytest.mark.parametrize("detector", [True, False])
def test_ed_es_step_puts_a_gated_cycles_events_at_its_extremes(monkeypatch, case, detector):
    """The analysis' ED/ES step on the Sunnybrook curves: from the fused TempReg events (before: the phases in
    SUNNYBROOK) or from the curve's own events (the model missing), ED at the largest volume and ES at the smallest."""
    volume, (old_ed, old_es) = SUNNYBROOK[case]
    choice = (EdEsChoice((old_ed,), (old_es,), "tempreg+area") if detector
              else EdEsChoice.curve("ED/ES model not installed or unusable: models/ed_es (test)"))
    monkeypatch.setattr(analyze, "detect_ed_es_events", lambda rec, curves: choice)
    found = analyze.ed_es_step(_stack_recording(20), _curves(volume))
    assert (found.ed_frames, found.es_frames) == ((int(np.argmax(volume)),), (int(np.argmin(volume)),))
    assert found.method == choice.method and found.fallback == choice.fallback


def test_echo_clips_never_take_the_gated_cycle_branch():
    """By construction: only a gated cycle (cine MR) moves to the cycle's extremes; an echo clip's events stay."""
    rec = Recording(np.zeros((20, 8, 8), np.uint8), (0.4, 0.4), uniform_frame_times(20, 50.0), "echo", "a4c")
    assert not rec.is_gated_cycle
    assert analyze.at_gated_cycle_extremes(rec, _curves(NOISY_PLATEAU), (18,), (8,)) == ((18,), (8,))


def _noisy_plateau_stack(n_slices: int = 3, size: int = 96):
    """A gated cine MR ring stack whose LV pool follows NOISY_PLATEAU (area per phase; measured curve checked)."""
    r, c = np.mgrid[0:size, 0:size]
    d = np.hypot(r - size / 2, c - size / 2)
    labels = np.zeros((n_slices, len(NOISY_PLATEAU), size, size), np.uint8)
    for t, rad in enumerate(24.0 * np.sqrt(NOISY_PLATEAU / 100.0)):
        labels[:, t] = np.where(d <= rad, 1, np.where(d <= rad + 5, 2, 0))
    rec = Recording((labels * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(len(NOISY_PLATEAU), 25.0),
                    "mri", "sax", slice_spacing_mm=8.0)
    return rec, labels


def test_a_cine_stack_is_measured_at_its_largest_and_smallest_lv_volume(monkeypatch):
    """End to end (labels as the segmentation, TempReg-Net's events ED 18, ES 10): EDV and ESV are the largest and
    smallest volumes of the cycle's curve, at its phases (before: ED 18, ES 8, the plateau's local dip)."""
    import app.ml.edes as edes
    from app.tasks import run_task

    monkeypatch.setattr(edes, "predict_ed_es", lambda recording, **kwargs: edes.EdEsDetection(
        (18,), (10,), np.zeros(len(NOISY_PLATEAU), np.float32)))
    rec, labels = _noisy_plateau_stack()
    result = run_task(analyze.analyze_recording(rec, segmenter=lambda r: labels))
    m = result.measurements
    volume = np.asarray(m.volume_curve_ml, np.float64)
    assert int(np.argmax(volume)) == 17 and int(np.argmin(volume)) == 6  # the curve is the one intended
    assert snap_to_curve((10,), volume, False, es_slide_frames("mri", len(volume))) == (8,)
    assert result.ed_es_method == "tempreg+area" and not result.ed_es_fallback
    assert (m.ed_frames, m.es_frames) == ((17,), (6,))
    assert m.edv_ml == pytest.approx(volume.max()) and m.esv_ml == pytest.approx(volume.min())
    assert m.ef_pct == pytest.approx(100.0 * (volume.max() - volume.min()) / volume.max())
