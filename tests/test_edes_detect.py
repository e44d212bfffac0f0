"""ED/ES detection API: windowed inference, cut beats at both ends, scoring, and the trained weights."""

from __future__ import annotations

import numpy as np
import pytest

from app.data.recording import Recording, uniform_frame_times
from lab.evaluation.edes import ecg_r_peak_frames
from lab.evaluation.edes_scoring import MethodScore, match_errors
from lab.training.tempreg_cycle import phantom_timing_cycle
from lab.training.tempreg_labels import target_curve

torch = pytest.importorskip("torch")


class MeanModel(torch.nn.Module):
    """Stands in for the net: the curve is each frame's mean intensity (frames encode the target)."""

    def __init__(self):
        super().__init__()
        self.config = type("C", (), {"input_size": 16})()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x.mean(dim=(2, 3, 4)) + 0.0 * self.dummy


def curve_recording(n_frames: int, fps: float, seed: int):
    rng = np.random.default_rng(seed)
    cycle = phantom_timing_cycle(n_frames, fps * 60.0 / 70.0, rng)
    y = target_curve(n_frames, cycle.ed_frames, cycle.es_frames)
    frames = np.repeat(y[:, None, None], 32, axis=1).repeat(32, axis=2)
    frames = (20 + 200 * frames).astype(np.float32)
    frames[:, 0, 0], frames[:, -1, -1] = 0.0, 255.0  # fixed window for frames_unit scaling
    rec = Recording(frames=frames, spacing_mm=(0.5, 0.5), frame_times_s=uniform_frame_times(n_frames, fps),
                    modality="echo")
    return rec, cycle


@pytest.mark.parametrize("n_frames,fps,seed", [(300, 90.0, 1), (45, 25.0, 2), (200, 60.0, 3)])
def test_windowed_detection_finds_every_event_with_cut_beats(n_frames, fps, seed):
    from app.ml.edes import predict_ed_es

    rec, cycle = curve_recording(n_frames, fps, seed)
    assert cycle.event_frames[0, 0] < 0 < n_frames - 1 < cycle.event_frames[-1, 0]  # cut at both ends
    det = predict_ed_es(rec, model=MeanModel(), device=torch.device("cpu"))
    assert det.curve.shape == (n_frames,) and det.method == "tempreg"
    for truth, found in ((cycle.ed_frames, det.ed_frames), (cycle.es_frames, det.es_frames)):
        inner = [f for f in truth if f < n_frames - 1]  # the last frame is never reported (ambiguous)
        errors, missed = match_errors(inner, found, fps)
        assert missed == 0 and max(errors, default=0) <= 1, (truth, found)
        assert n_frames - 1 not in found


def test_bad_input_is_a_clear_error():
    from app.ml.edes import predict_ed_es

    rec, _ = curve_recording(40, 30.0, 0)
    with pytest.raises(ValueError, match="slice"):
        predict_ed_es(rec, slice_index=3, model=MeanModel())


def test_scoring_counts_missed_and_extra():
    errors, missed = match_errors([10, 50, 90], [11, 88], 30.0)
    assert errors == [1, 2] and missed == 1
    score = MethodScore()
    score.add([10, 50], [30], [10, 52, 70], [33], 30.0)
    s = score.summary()
    assert s["ed"]["afd"] == pytest.approx(1.0) and s["es"]["afd"] == pytest.approx(3.0) and s["extra"] == 1
    assert s["ed"]["afd_ms"] == pytest.approx(33.3, abs=0.1) and s["es"]["afd_ms"] == pytest.approx(100.0)
    untimed = MethodScore()
    untimed.add([10], [30], [11], [30], None)
    assert untimed.summary()["ed"]["afd_ms"] is None


def test_ecg_r_peaks_map_to_frames():
    t = np.arange(0, 3.0, 0.002)
    ecg = np.exp(-(((t[:, None] - np.array([0.4, 1.27, 2.1])) / 0.01) ** 2)).sum(axis=1)
    times = uniform_frame_times(90, 30.0)
    rec = Recording(frames=np.zeros((90, 8, 8), np.uint8), spacing_mm=(1, 1), frame_times_s=times,
                    modality="echo", ecg=np.stack([t, ecg]))
    assert ecg_r_peak_frames(rec) == (12, 38, 63)


def test_trained_weights_detect_phantom_events():
    from app.ml.weights import model_available

    if not model_available("ed_es"):
        pytest.skip("models/ed_es has no trained TempReg-Net weights (train with `python -m app train ed-es`)")
    import app.data.phantom as phantom
    from app.ml.edes import predict_ed_es

    heart = phantom.HeartParams(edv_ml=140, esv_ml=70, heart_rate_bpm=100, start_phase=0.55)
    case = phantom.make_echo(phantom.EchoPhantomParams(heart=heart, beats=2, frame_rate_hz=20.0), seed=424242)
    rec, truth = case.recording, case.truth
    det = predict_ed_es(rec, device=torch.device("cpu"))
    for t, found in ((truth.ed_frames, det.ed_frames), (truth.es_frames, det.es_frames)):
        errors, missed = match_errors(t, found, rec.frame_rate_hz)
        assert missed == 0 and np.mean(errors) <= 1.0, (t, found)


def test_evaluation_scores_cached_cases(tmp_path):
    """The evaluation reads cached phantom cases and scores TempReg-Net and the area-curve baseline."""
    from lab.evaluation.edes import EVAL_SEEDS, evaluate_phantoms, format_table

    for i in range(2):
        rec, cycle = curve_recording(120, 50.0, 10 + i)
        clip = np.clip(rec.frames_unit() * 255.0, 0, 255).astype(np.uint8)[:, :16, :16]
        area = 1000.0 + 500.0 * cycle.volume
        np.savez(tmp_path / f"echo_{EVAL_SEEDS['echo'] + i}.npz", clip=clip, area_px=area, frame_rate_hz=50.0,
                 ed=np.array(cycle.ed_frames), es=np.array(cycle.es_frames), r_peaks=np.array([], int),
                 has_ecg=False)
    results = evaluate_phantoms(2, 0, MeanModel(), torch.device("cpu"), cache_dir=tmp_path)
    tempreg = results["echo"]["tempreg"]
    assert tempreg["recordings"] == 2 and tempreg["missed"] == 0
    assert tempreg["ed"]["afd"] <= 1.0 and tempreg["es"]["afd"] <= 1.0
    assert "area_curve" in results["echo"] and "ecg_r_peak" not in results["echo"]
    assert "tempreg" in format_table(results)


def test_plateau_tolerance_tuning_scores_and_restores_the_constants():
    from types import SimpleNamespace

    from app.analysis import edes_fusion as edes
    from lab.evaluation.edes_tuning import score_tolerances
    from lab.training.tempreg_labels import target_curve

    curve = target_curve(60, (5, 35), (20, 50))
    curve[21] = curve[20] + 0.015  # a shallow plateau just after ES: the tolerance decides the frame
    case = SimpleNamespace(ed_frames=(5, 35), es_frames=(20, 50), frame_rate_hz=30.0)
    before = dict(edes.PLATEAU_TOL)
    strict = score_tolerances([case], [curve], 0.01, 0.01, "mri")
    loose = score_tolerances([case], [curve], 0.01, 0.02, "mri")
    assert edes.PLATEAU_TOL == before
    assert strict["es"] < loose["es"]  # the looser tolerance moves ES 20 -> 21, one frame late


def test_plateau_tolerances_are_per_modality():
    from app.analysis import edes_fusion as edes
    from lab.training.tempreg_labels import target_curve

    curve = target_curve(60, (5, 35), (20, 50))
    curve[21] = curve[20] + 0.05  # a frame with part of the rise after ES
    saved = dict(edes.PLATEAU_TOL)
    try:
        edes.PLATEAU_TOL.update({"echo": (0.02, 0.02), "mri": (0.02, 0.10)})
        assert edes.curve_extrema(curve, 30.0, "echo")[1] == (20, 50)
        assert edes.curve_extrema(curve, 30.0, "mri")[1] == (21, 50)
        assert edes.plateau_tolerances("video") == edes.plateau_tolerances("echo")
        assert edes.plateau_tolerances(None) == (0.02, 0.02)
    finally:
        edes.PLATEAU_TOL.clear()
        edes.PLATEAU_TOL.update(saved)
