"""End-diastoles a detector stepped over (issue 53): where TempReg-Net skips an ED, one detected "beat" spans two
cycles and the heart rate reads half the heart's (two clinical clips at 30 and 32 bpm); the LV curve's own ED is put
back there, and nowhere else, and the cycles without a detected ES are timed but not measured."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_trust import summarise_beats
from app.analysis.beats import split_beats
from app.analysis.skipped_beats import with_skipped_beats
from tests.analysis_synth import cardiac_curve

FPS = 50.0


def _own_es(ed: list[int], es: list[int]) -> list[int]:
    """Each ED's own ES (the first after it)."""
    return [min(f for f in es if f > d) for d in ed if any(f > d for f in es)]


def _summary(curve: np.ndarray, ed, es):
    return summarise_beats(split_beats(curve, ed, es, np.arange(len(curve)) / FPS))


@pytest.mark.parametrize("skip", [2, 3])
def test_a_beat_spanning_several_cycles_gets_the_curves_eds_back(skip):
    curve, ed, es = cardiac_curve(320, FPS, 75.0, 120.0, 50.0, 0.1)  # 40-frame beats
    det_ed = ed[::skip]
    det_es = _own_es(det_ed, es)
    as_detected = _summary(curve, det_ed, det_es).heart_rate_bpm  # 37.5 bpm, or none (RR 2.4 s: no heart's)
    assert as_detected is None or as_detected == pytest.approx(75.0 / skip, rel=0.05)
    new_ed, new_es = with_skipped_beats(curve, det_ed, det_es, FPS)
    assert set(det_ed) <= set(new_ed) and new_es == tuple(det_es)  # EDs added, nothing moved, no ES made up
    inside = [t for t in ed if det_ed[0] < t < det_ed[-1]]
    assert inside and all(any(abs(f - t) <= 1 for f in new_ed) for t in inside), (new_ed, ed)
    assert len(new_ed) == len(det_ed) + len(inside) - len([t for t in inside if t in det_ed])
    summary = _summary(curve, new_ed, new_es)
    assert summary.heart_rate_bpm == pytest.approx(75.0, rel=0.05)
    assert summary.ef_pct == pytest.approx(100 * 70 / 120, abs=1.5)
    assert [(b.ed_frame, b.es_frame) for b in summary.trusted] == [
        (d, e) for d, e in zip(det_ed, det_es, strict=False) if d < det_ed[-1]]  # the detector's beats, one cycle each
    assert all(b.rr_s == pytest.approx(0.8, abs=0.04) for b in summary.trusted)


def test_events_that_match_the_curve_and_curves_without_a_period_are_left_alone():
    curve, ed, es = cardiac_curve(320, FPS, 75.0, 120.0, 50.0, 0.1)
    own = _own_es(ed, es)
    assert with_skipped_beats(curve, ed, own, FPS) == (tuple(ed), tuple(own))
    noise = np.random.default_rng(0).normal(100.0, 10.0, 320)  # no cycle to measure a beat against
    half_ed, half_es = ed[::2], _own_es(ed[::2], es)
    assert with_skipped_beats(noise, half_ed, half_es, FPS) == (tuple(half_ed), tuple(half_es))
    assert with_skipped_beats(curve, ed[:1], es[:1], FPS) == (tuple(ed[:1]), tuple(es[:1]))  # no beat to judge
    assert with_skipped_beats(curve[:2], [0], [1], FPS) == ((0,), (1,))


def test_a_long_cycle_of_the_heart_itself_is_not_split():
    """A compensatory pause (a cycle 1.6 times the others, its diastasis long) holds no ED of the curve: kept whole."""
    beat, _, _ = cardiac_curve(40, FPS, 75.0, 120.0, 50.0)
    long_beat, _, _ = cardiac_curve(64, FPS, 75.0 * 40 / 64, 120.0, 50.0)
    curve = np.concatenate([beat, beat, beat, long_beat, beat, beat, beat])
    ed = [0, 40, 80, 120, 184, 224, 264]
    es = _own_es(ed, [int(np.argmin(curve[d:d + 40])) + d for d in ed])
    assert with_skipped_beats(curve, ed, es, FPS) == (tuple(ed), tuple(es))


def test_a_diastolic_dip_put_back_only_shortens_the_beat_to_its_cycle():
    """In a pause of two cycles' length a dip of the segmentation in diastasis can look like the curve's own ED; put
    back, it ends the detected beat after its filling, and the dip, with no detected ES, is measured as no beat: the
    EF stays the heart's."""
    beat, _, _ = cardiac_curve(40, FPS, 75.0, 120.0, 50.0)
    pause, _, _ = cardiac_curve(80, FPS, 75.0 / 2, 120.0, 50.0)
    pause = pause.copy()
    pause[50:56] -= 30.0 * np.array([0.3, 0.75, 1.0, 1.0, 0.75, 0.3])  # a dip in diastasis: 43 % of the stroke
    curve = np.concatenate([beat, beat, beat, pause, beat, beat, beat])
    ed = [0, 40, 80, 120, 200, 240, 280]
    es = [int(np.argmin(curve[d:d + 40])) + d for d in ed]
    new_ed, new_es = with_skipped_beats(curve, ed, es, FPS)
    assert len(new_ed) == len(ed) + 1 and new_es == tuple(es)  # the dip's "ED" is put back, no ES
    summary = _summary(curve, new_ed, new_es)
    assert summary.ef_pct == pytest.approx(100 * 70 / 120, abs=1.0)
    assert min(b.ef_pct for b in summary.trusted) > 55.0 and len(summary.trusted) == len(ed) - 1


def test_the_analysis_puts_back_the_beats_tempreg_skipped(monkeypatch):
    """End to end with a detector that finds every other ED: its EDs and the curve's mark every cycle, the beats are
    the detector's, one cycle each, and the heart rate is the heart's."""
    import app.ml.edes as edes
    from app.data.recording import Recording, uniform_frame_times
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from tests.analysis_synth import half_ellipse_lv

    shape, ed, es = cardiac_curve(170, FPS, 75.0, 1.0, 0.55, 0.3)
    labels = np.stack([half_ellipse_lv((140, 120), 80.0 * s ** (1 / 3), 26.0 * s ** (1 / 3), base_row=110, cx=60,
                                       wall_px=6) for s in shape])
    rec = Recording((labels * 60).astype(np.uint8), (0.4, 0.4), uniform_frame_times(len(labels), FPS), "echo", "a4c")
    det_ed = ed[::2]
    det_es = _own_es(det_ed, es)

    def detect(recording, **kwargs):
        return edes.EdEsDetection(tuple(det_ed), tuple(det_es), np.zeros(len(labels), np.float32))

    monkeypatch.setattr(edes, "predict_ed_es", detect)
    result = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    m = result.measurements
    assert result.ed_es_method == "tempreg" and result.ed_es_fallback == ""
    skipped = [t for t in ed if det_ed[0] < t < det_ed[-1] and t not in det_ed]
    assert skipped and all(any(abs(f - t) <= 2 for f in m.ed_frames) for t in skipped), (m.ed_frames, ed)
    assert m.heart_rate_bpm == pytest.approx(75.0, rel=0.05)
    assert all(b.rr_s is None or b.rr_s < 1.0 for b in m.beats)
    inner_es = [f for f in m.es_frames if det_ed[0] < f < det_ed[-1]]  # no ES made up: the detector's, at the minimum
    assert len(inner_es) == len([f for f in det_es if f < det_ed[-1]])
    assert all(abs(f - g) <= 2 for f, g in zip(inner_es, det_es, strict=False))
    assert result.to_json_dict()["heart_rate_bpm"] == pytest.approx(75.0, rel=0.05)
    unmeasured = [f for f in m.ed_frames if not any(b.ed_frame == f for b in m.beats) and f < max(m.ed_frames)]
    assert unmeasured and any(n.startswith("no end-systole marked in the cycle") and
                              all(str(f) in n for f in unmeasured) for n in m.notes), m.notes
