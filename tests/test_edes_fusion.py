"""TempReg-Net events combined with the LV curve: ES refinement, clip-end events, the pipeline's choice
of ED/ES method (model, fused, area-curve fallback) and the JSON key."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.edes_checks import curve_contradiction, missed_beats, no_systole
from app.analysis.edes_curve import detect_ed_es
from app.analysis.edes_fusion import add_edge_events, fuse_events, snap_to_curve
from app.data.recording import Recording, uniform_frame_times
from tests.analysis_synth import cardiac_curve

FPS = 30.0


@pytest.fixture(scope="module")
def curve():
    """Three beats at 30 fps starting mid-filling: (curve, true ED, ES = the sampled curve's minima)."""
    y, ed, es = cardiac_curve(90, FPS, 60.0, 120.0, 50.0, start_phase=0.5)
    minima = [f - 3 + int(np.argmin(y[f - 3:f + 4])) for f in es if 3 <= f < len(y) - 4]
    return y, ed, minima


def test_es_slides_down_to_the_curve_minimum_within_two_frames(curve):
    y, _, es = curve
    es = [f for f in es if 2 < f < len(y) - 3]
    assert es
    for shift in (-2, -1, 0, 1, 2):
        assert snap_to_curve([f + shift for f in es], y, maxima=False) == tuple(es)
    far = snap_to_curve([es[0] - 5], y, maxima=False)  # too far: moves 2 frames towards the minimum only
    assert far == (es[0] - 3,)
    assert snap_to_curve([es[0] - 5], y, maxima=False, radius=0) == (es[0] - 5,)


def test_maxima_plateaus_and_gaps_stay():
    y = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0, np.nan, 0.5, 2.0])
    assert snap_to_curve([1], y, maxima=True) == (2,)  # up the slope to the first plateau frame
    assert snap_to_curve([3], y, maxima=True) == (3,)  # on the plateau: stays
    assert snap_to_curve([5], y, maxima=False) == (5,)  # next to a NaN frame: no lower finite neighbour
    assert snap_to_curve([6], y, maxima=False) == (6,)  # on a NaN frame: stays


def test_fuse_keeps_ed_refines_es_and_adds_clip_end_events(curve):
    y, ed, es = curve
    curve_ed, curve_es = detect_ed_es(y, FPS)
    inner_ed = [f for f in ed if 3 < f < len(y) - 4]
    inner_es = [f for f in es if 3 < f < len(y) - 4]
    late_ed = [f + 1 for f in inner_ed]  # the detector's own ED timing is kept
    early_es = [f - 1 for f in inner_es]
    fused_ed, fused_es = fuse_events(late_ed, early_es, y, FPS)
    assert set(late_ed) <= set(fused_ed) and set(inner_es) <= set(fused_es)
    # the curve's clip-end events that the detector left out are added (here: ED at the start or end)
    missing = (set(curve_ed) - {f - 1 for f in late_ed}) | (set(curve_es) - set(inner_es))
    assert missing and missing <= set(fused_ed) | set(fused_es)
    plain_ed, plain_es = fuse_events(late_ed, early_es, y, FPS, refine_es=False)
    assert set(early_es) <= set(plain_es)


def test_edge_events_keep_alternation():
    # detector: ED 10, ES 20; curve: ES 2 (before, other kind -> added), ED 1 (same kind as the first
    # given event -> not), ES 29 (after an ES -> not), ED 30 too close (< min gap) -> not
    ed, es = add_edge_events([10], [20], [1, 10, 24], [2, 20, 29], min_gap=5)
    assert ed == (10,) and es == (2, 20)
    assert add_edge_events([], [], [1], [5], 3) == ((), ())


def test_fuse_with_curve_names_the_method_and_checks_the_length(curve):
    from app.analysis.edes_fusion import FUSED_METHOD, EdEsDetection, fuse_with_curve

    y, ed, es = curve
    det = EdEsDetection(tuple(ed[1:2]), tuple(f + 1 for f in es[:1]), np.zeros(len(y), np.float32))
    fused = fuse_with_curve(det, y, FPS)
    assert fused.method == FUSED_METHOD == "tempreg+area" and es[0] in fused.es_frames
    assert fuse_with_curve(det, y, FPS, refine_es=False).method == "tempreg"
    with pytest.raises(ValueError, match="frames"):
        fuse_with_curve(det, y[:-1], FPS)


# -- the pipeline ------------------------------------------------------------------------------------
def _labels(n_frames=60):
    from tests.analysis_synth import half_ellipse_lv

    shape_curve, ed, es = cardiac_curve(n_frames, FPS, 72.0, 1.0, 0.55, 0.3)
    labels = np.stack([half_ellipse_lv((140, 120), 80.0 * s ** (1 / 3), 26.0 * s ** (1 / 3), base_row=110, cx=60,
                                       wall_px=6) for s in shape_curve])
    return labels, ed, es


@pytest.fixture(scope="module")
def beating():
    labels, ed, es = _labels()
    rec = Recording((labels * 60).astype(np.uint8), (0.4, 0.4), uniform_frame_times(len(labels), FPS), "echo",
                    "a4c")
    return rec, labels, ed, es


def _analyze(rec, labels):
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording

    return run_task(analyze_recording(rec, segmenter=lambda r: labels))


def test_pipeline_falls_back_to_the_area_curve_without_the_model(beating, tmp_path, monkeypatch):
    rec, labels, ed, es = beating
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path))  # an empty models folder
    result = _analyze(rec, labels)
    assert result.ed_es_method == "area_curve"
    assert "models/ed_es" in result.ed_es_fallback and "not installed" in result.ed_es_fallback
    m = result.measurements
    assert (m.ed_frames, m.es_frames) == detect_ed_es(m.volume_curve_ml, FPS)
    js = result.to_json_dict()
    assert js["ed_es_method"] == "area_curve" and "models/ed_es" in js["ed_es_fallback"]


def _fake_detection(monkeypatch, ed, es, n, error=None):
    import app.ml.edes as edes

    def detect(recording, **kwargs):
        if error is not None:
            raise error
        return edes.EdEsDetection(tuple(ed), tuple(es), np.zeros(n, np.float32))

    monkeypatch.setattr(edes, "predict_ed_es", detect)


def test_pipeline_uses_the_model_events(beating, monkeypatch):
    """TempReg-Net finds the beats; each ES is then its beat's smallest volume (issue 53), not the model's frame."""
    rec, labels, ed, es = beating
    inner_es = [f for f in es if 3 < f < len(labels) - 4]
    model_es = [f + 3 for f in inner_es]  # 60 ms late, on the refilling limb
    _fake_detection(monkeypatch, ed[1:2], model_es, len(labels))
    result = _analyze(rec, labels)
    assert result.ed_es_method == "tempreg" and result.ed_es_fallback == ""
    m = result.measurements
    assert any(abs(f - ed[1]) <= 1 for f in m.ed_frames)
    assert all(any(abs(f - t) <= 1 for f in m.es_frames) for t in inner_es), (m.es_frames, inner_es)
    vol = m.volume_curve_ml
    for b in m.beats:
        if b.complete:
            assert vol[b.es_frame] <= 1.01 * np.nanmin(vol[b.ed_frame:b.next_ed_frame + 1])
    assert m.beats and m.edited == frozenset()
    assert result.to_json_dict()["ed_es_method"] == "tempreg"


def test_model_es_with_clip_start_ed_from_the_curve(beating, monkeypatch):
    """TempReg may miss an ED on the clip's first frames (no context there): the curve supplies it."""
    rec, labels, ed, es = beating
    first_es = [f for f in es if f > 3][0]
    _fake_detection(monkeypatch, (), [first_es], len(labels))
    result = _analyze(rec, labels)
    assert result.ed_es_method == "tempreg" and result.ed_es_fallback == ""
    m = result.measurements
    assert first_es in m.es_frames and m.ed_frames and min(m.ed_frames) < first_es


def test_pipeline_can_refine_es_on_the_curve(beating, monkeypatch):
    import app.analysis.edes_fusion as edes_fusion

    rec, labels, ed, es = beating
    inner_es = [f for f in es if 3 < f < len(labels) - 4]
    _fake_detection(monkeypatch, ed[1:2], [f - 1 for f in inner_es], len(labels))
    monkeypatch.setattr(edes_fusion, "es_slide_frames", lambda modality, n: 2)
    result = _analyze(rec, labels)
    assert result.ed_es_method == "tempreg+area"
    assert all(any(abs(f - t) <= 1 for f in result.measurements.es_frames) for t in inner_es)


@pytest.mark.parametrize("case,needle", [("error", "ED/ES model failed"), ("empty", "no end-diastole"),
                                         ("swapped", "EDV <= ESV")])
def test_pipeline_falls_back_when_the_model_fails_or_contradicts_the_curve(beating, monkeypatch, case, needle):
    rec, labels, ed, es = beating
    n = len(labels)
    if case == "error":
        _fake_detection(monkeypatch, (), (), n, error=RuntimeError("boom"))
    elif case == "empty":
        _fake_detection(monkeypatch, (), (), n)
    else:  # ED where the volume is smallest and ES where it is largest
        _fake_detection(monkeypatch, [f for f in es if 3 < f < n - 4], [f for f in ed if 3 < f < n - 4], n)
    result = _analyze(rec, labels)
    assert result.ed_es_method == "area_curve" and needle in result.ed_es_fallback


def test_user_edits_of_ed_es_still_win(beating, monkeypatch):
    from app.workflow.study import StudyState
    from app.workflow.study_analysis import analysis_from_state

    rec, labels, ed, es = beating
    _fake_detection(monkeypatch, ed[1:2], [f for f in es if 3 < f < len(labels) - 4], len(labels))
    result = _analyze(rec, labels)
    study = StudyState()
    index = study.add_recording(rec)
    study.set_analysis(index, result)
    st = study[index]
    assert st.ed_frames == result.measurements.ed_frames
    study.set_edes(index, [ed[1] + 2], [st.es_frames[-1]])
    assert st.measurements.ed_frames == (ed[1] + 2,) and "ed_frames" in st.measurements.edited
    assert analysis_from_state(st).to_json_dict()["ed_es_method"] == "manual"


def test_cli_json_names_the_ed_es_method(tmp_path, capsys):
    """`python -m app analyze PATH --labels ... --json OUT` with the installed TempReg-Net (or its fallback)."""
    import json

    sitk = pytest.importorskip("SimpleITK")
    from app.cli import main
    from app.ml.weights import models_dir
    from tests.analysis_synth import phantom_echo

    case = phantom_echo("a4c")
    rec = case.recording
    image = sitk.GetImageFromArray(rec.frames)
    image.SetSpacing((rec.spacing_mm[1], rec.spacing_mm[0], 1.0 / rec.frame_rate_hz))
    path = tmp_path / "phantom_a4c_sequence.mhd"
    sitk.WriteImage(image, str(path))
    truth = tmp_path / "phantom_a4c.truth.npz"
    np.savez_compressed(truth, labels=case.truth.labels)
    out = tmp_path / "out.json"
    assert main(["analyze", str(path), "--labels", str(truth), "--no-strain", "--json", str(out)]) == 0, \
        capsys.readouterr().err
    result = json.loads(out.read_text())
    assert result["ed_es_method"] in ("tempreg", "tempreg+area", "area_curve")
    if (models_dir() / "ed_es" / "model.pt").is_file():
        assert result["ed_es_method"] == "tempreg" and result["ed_es_fallback"] is None
        for found, true in ((result["ed_frames"], case.truth.ed_frames), (result["es_frames"], case.truth.es_frames)):
            assert len(found) == len(true) and all(abs(a - b) <= 1 for a, b in zip(found, true, strict=False)), (
                found,
                true,
            )
    else:
        assert result["ed_es_method"] == "area_curve" and result["ed_es_fallback"]


def test_evaluation_reports_all_three_methods(tmp_path):
    """evaluate_phantoms on one cached case (clip frames encode the Kong curve; a stand-in net reads it)."""
    torch = pytest.importorskip("torch")
    from lab.evaluation.edes import EVAL_SEEDS, evaluate_phantoms, format_table
    from lab.training.tempreg_labels import target_curve

    class MeanModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.mean(dim=(2, 3, 4)) + 0.0 * self.dummy

    y, ed, es = cardiac_curve(90, FPS, 60.0, 120.0, 50.0, start_phase=0.5)
    kong = target_curve(len(y), ed, es)
    clip = np.clip(kong * 255 + 0.5, 0, 255).astype(np.uint8)[:, None, None].repeat(8, 1).repeat(8, 2)
    np.savez(tmp_path / f"echo_{EVAL_SEEDS['echo']}.npz", clip=clip, area_px=y, frame_rate_hz=FPS,
             ed=np.array(ed), es=np.array(es), r_peaks=np.array([], int), has_ecg=False)
    results = evaluate_phantoms(1, 0, MeanModel(), device=torch.device("cpu"), cache_dir=tmp_path)
    methods = results["echo"]
    assert {"tempreg", "tempreg+area", "area_curve"} <= set(methods)
    assert methods["tempreg+area"]["es"]["afd"] <= 1.0 and methods["tempreg+area"]["recordings"] == 1
    assert "tempreg+area" in format_table(results)


def test_es_slides_down_the_volume_curve_for_cine_mr_only():
    import app.analysis.edes_fusion as edes

    assert edes.es_slide_frames("echo", 60) == 0 and edes.es_slide_frames(None, 60) == 0
    assert edes.es_slide_frames("mri", 20) == 6 and edes.es_slide_frames("mri", 4) == 2
    # SCD0000301's slice-summation volume curve (ml per phase): TempReg put ES at phase 12
    volume = np.array([215, 212, 203, 194, 187, 181, 180, 180, 178, 180, 182, 184, 187, 189, 195, 203, 215, 219,
                       217, 218], float)
    det = edes.EdEsDetection((0,), (12,), np.zeros(20, np.float32))
    fused = edes.fuse_with_curve(det, volume, 25.0, refine_es=True, radius=edes.es_slide_frames("mri", 20))
    assert fused.es_frames == (8,) and fused.method == "tempreg+area"


# SCD0000401's slice-summation volume curve (ml per phase): one gated cycle, ED at the trigger (phases 19/0),
# both ends rising steeply, so as a plain clip neither end passes for an event
GATED_401 = np.array([218.6, 213.2, 198.9, 181.6, 164.8, 153.0, 148.9, 151.1, 155.5, 167.1, 177.8, 184.7, 192.3,
                      196.5, 196.8, 198.7, 199.7, 202.5, 214.2, 220.2])


def test_a_gated_cycle_finds_ed_across_the_wrap():
    assert detect_ed_es(GATED_401, 19.6) == ((), ())
    ed, es = detect_ed_es(GATED_401, 19.6, periodic=True)
    assert ed == (19,) and es == (6,)
    rolled = np.roll(GATED_401, 7)  # ED mid-clip: the same events, shifted
    assert detect_ed_es(rolled, 19.6, periodic=True) == ((6,), (13,))


def test_fusion_takes_the_gated_cycles_ed_when_tempreg_finds_only_es():
    import app.analysis.edes_fusion as edes

    det = edes.EdEsDetection((), (9,), np.zeros(20, np.float32))  # what TempReg-Net gave on SCD0000401
    radius = edes.es_slide_frames("mri", 20)
    assert edes.fuse_with_curve(det, GATED_401, 19.6, radius=radius).ed_frames == ()
    fused = edes.fuse_with_curve(det, GATED_401, 19.6, radius=radius, periodic=True)
    assert fused.ed_frames == (19,) and fused.es_frames == (6,)


def _gated_stack(n_frames: int = 20):
    """A 3-slice gated cine MR ring stack, ED at phase 0 and ES at n_frames/2."""
    r, c = np.mgrid[0:80, 0:80]
    d = np.hypot(r - 40, c - 40)
    radius = 14 + 6 * np.cos(2 * np.pi * np.arange(n_frames) / n_frames)
    labels = np.zeros((3, n_frames, 80, 80), np.uint8)
    for t, rad in enumerate(radius):
        labels[:, t] = np.where(d <= rad, 1, np.where(d <= rad + 5, 2, 0))
    rec = Recording((labels * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(n_frames, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0)
    return rec, labels


@pytest.mark.parametrize("model_ed, expected", [((0, 16), "area_curve"), ((0,), "tempreg+area")])
def test_a_gated_stack_drops_an_ed_in_the_middle_of_filling(monkeypatch, model_ed, expected):
    """TempReg-Net put a second ED at phase 16 of 20 on such a stack (volume 44 % of the range below the top;
    EDV > ESV still holds): the pipeline falls back to the curve's single ED and ES and says why."""
    rec, labels = _gated_stack(20)
    _fake_detection(monkeypatch, model_ed, (10,), 20)
    result = _analyze(rec, labels)
    m = result.measurements
    assert result.ed_es_method == expected and (m.ed_frames, m.es_frames) == ((0,), (10,))
    if expected == "area_curve":
        assert "ED at frame 16 is 44 %" in result.ed_es_fallback and "below the largest" in result.ed_es_fallback
    else:
        assert result.ed_es_fallback == ""


def test_a_two_frame_recording_says_why_the_model_was_not_used(beating):
    """An ED/ES frame pair, and one still frame: the fall-back says what the frames are, not "model failed:
    ValueError" (nor "1 frames" on a still frame)."""
    rec, labels, ed, es = beating
    pair = Recording(np.asarray(rec.frames)[:2], (0.4, 0.4), uniform_frame_times(2, FPS), "echo", "a4c")
    result = _analyze(pair, labels[:2])
    assert result.ed_es_method == "area_curve"
    assert result.ed_es_fallback == "an ED/ES pair of frames"
    still = Recording(np.asarray(rec.frames)[:1], (0.4, 0.4), uniform_frame_times(1, FPS), "echo", "a4c")
    assert _analyze(still, labels[:1]).ed_es_fallback == "one still frame: no ED/ES"


def test_a_spurious_pair_in_a_flat_diastasis_does_not_set_the_detectors_events_aside():
    """The ConvLSTM's LV curve on the long phantom clip is flat in diastasis, where TempReg-Net put an extra
    ED/ES pair before every real ED: that pair's 'beat' has EDV = ESV, which set all of TempReg's events aside for
    the curve's own (EF 59.7 %, ED frames [54, 108, ...]). The pair is left out first, as the measured analysis
    leaves it out, and the detector's other events are kept; events that contradict the curve still fall back."""
    import app.analysis.edes_fusion as edes

    fps = 50.0
    curve, ed, es = cardiac_curve(240, fps, 50.0, 120.0, 50.0)  # RR 60 frames: diastasis flat late in each beat
    curve = curve.copy()
    spurious = [(e - 10, e - 7) for e in ed[1:]]  # an ED/ES pair 0.2 s before every real ED after the first
    for s_ed, s_es in spurious:
        curve[s_ed:s_es + 1] = curve[s_ed]  # flat: EDV = ESV for the pair
    with_pairs = sorted(ed + [p[0] for p in spurious]), sorted(es + [p[1] for p in spurious])
    det = edes.EdEsDetection(tuple(with_pairs[0]), tuple(with_pairs[1]), np.zeros(len(curve), np.float32))
    assert curve_contradiction(curve, *with_pairs) == "EDV <= ESV"  # what used to set the events aside
    choice = edes.choose_ed_es(det, curve, fps, "echo", gated=False)
    assert choice.method != edes.CURVE_METHOD and not choice.fallback
    assert set(choice.ed_frames) >= set(ed[:-1]) and not set(choice.ed_frames) & {p[0] for p in spurious}
    assert not set(choice.es_frames) & {p[1] for p in spurious}
    swapped = edes.EdEsDetection(tuple(es), tuple(ed[1:]), np.zeros(len(curve), np.float32))  # ED at the minima
    assert edes.choose_ed_es(swapped, curve, fps, "echo", gated=False).method == edes.CURVE_METHOD


def test_a_detector_that_misses_most_beats_gives_way_to_the_curve():
    """TempReg-Net saw too little motion in a CAMUS patient made a 112 px clip (patient0341 of `evaluate
    echo-files --forms clip112`): one ED near the end of a clip whose LV curve beats four times, so the clip's
    EF came from one filling phase (5.8 % against the expert's 38.7). Fewer than half of the curve's events
    set the detector aside; missing one beat of four does not."""
    import app.analysis.edes_fusion as edes

    fps = 50.0
    curve, ed, es = cardiac_curve(240, fps, 50.0, 120.0, 50.0)
    lone = edes.EdEsDetection((ed[-1],), (), np.zeros(len(curve), np.float32))
    choice = edes.choose_ed_es(lone, curve, fps, "echo", gated=False)
    assert choice.method == edes.CURVE_METHOD and "events where the curve shows" in choice.fallback
    most = edes.EdEsDetection(tuple(ed[:-1]), tuple(es[:-1]), np.zeros(len(curve), np.float32))
    kept = edes.choose_ed_es(most, curve, fps, "echo", gated=False)
    assert kept.method != edes.CURVE_METHOD and not kept.fallback
    assert missed_beats(curve, ed, es, fps) == ""


def test_missed_beats_at_its_boundaries():
    """Two beats' worth of curve events (4) is enough to judge; exactly half of them found is not "most missed"."""
    fps = 50.0
    curve, ed, es = cardiac_curve(100, fps, 50.0, 120.0, 50.0)  # the curve shows ED 0, 60 and ES 21, 81
    assert len(ed) + len(es) == 4
    assert missed_beats(curve, (60,), (), fps) == "1 events where the curve shows 4"
    assert missed_beats(curve, (60,), (81,), fps) == ""  # 2 of 4: half, kept
    short, _, _ = cardiac_curve(70, fps, 50.0, 120.0, 50.0)  # one beat and a half: 3 events, too few to judge
    assert missed_beats(short, (), (21,), fps) == ""


def test_a_late_es_on_the_refilling_limb_no_longer_sets_the_model_aside():
    """Issue 53: a TempReg-Net ES far down the refilling limb (here 30 frames late, just after an ED placed 6 frames
    early) read as a beat with 'EDV <= ESV', and the curve's own erratic extrema replaced the model's beats; now
    its beats are kept and each ES is its beat's smallest volume."""
    from app.analysis.edes_fusion import EdEsDetection, choose_ed_es

    y, ed, es = cardiac_curve(250, 50.0, 60.0, 120.0, 50.0, 0.1)
    early_ed = [f - 6 for f in ed if f >= 6][:-1]
    late_es = [f + 30 for f in es if f + 30 < len(y)][:-1]
    assert curve_contradiction(y, early_ed, late_es) == "EDV <= ESV"  # as the raw events read
    det = EdEsDetection(tuple(early_ed), tuple(late_es), np.zeros(len(y), np.float32))
    choice = choose_ed_es(det, y, 50.0, "echo", gated=False)
    assert choice.method == "tempreg" and choice.fallback == ""
    assert all(any(abs(f - t) <= 1 for f in choice.es_frames) for t in es if early_ed[0] < t < early_ed[-1])
    swapped = EdEsDetection(tuple(f for f in es if 2 < f < 245), tuple(f for f in ed if 2 < f < 245), det.curve)
    assert "EDV <= ESV" in choose_ed_es(swapped, y, 50.0, "echo", gated=False).fallback  # an ED at the minimum


def test_events_whose_every_systole_is_impossible_give_way_to_the_curve():
    """Issue 53, clip 0X73A06B41: the segmentation loses the cavity for a few frames late in each beat, and
    TempReg-Net puts every ES there, 0.8-0.9 s after its ED. That dropout is the beat's smallest volume, so each ES
    stays on it, and no beat of these events can be trusted (beat_trust.SYSTOLE_S). The curve's own events take
    over. With one such beat among real ones, the events are kept, and that beat alone is left out of the EF."""
    import app.analysis.edes_fusion as edes

    fps = 50.0
    curve, ed, es = cardiac_curve(250, fps, 60.0, 120.0, 50.0, 0.1)
    dropped = curve.copy()
    late = [f + 42 for f in ed if f + 44 < len(curve)]
    for f in late:
        dropped[f - 1:f + 2] = 20.0  # below ESV: the beat's smallest "volume"
    det = edes.EdEsDetection(tuple(ed[:len(late)]), tuple(late), np.zeros(len(curve), np.float32))
    assert "ED to ES 0.8" in no_systole(dropped, ed[:len(late)], late, fps)
    choice = edes.choose_ed_es(det, dropped, fps, "echo", gated=False)
    assert choice.method == edes.CURVE_METHOD and "(ED to ES 0.84 s is outside 0.1-0.6 s)" in choice.fallback
    one = dropped.copy()
    one[late[1] - 1:] = curve[late[1] - 1:]  # only the first beat has the dropout
    kept = edes.choose_ed_es(det, one, fps, "echo", gated=False)  # the others' ES go to their beats' minima
    assert kept.method != edes.CURVE_METHOD and not kept.fallback and late[0] in kept.es_frames
    assert no_systole(dropped, ed[:len(late)], late, None) == ""  # untimed: not judged
