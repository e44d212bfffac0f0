"""Contour editing like the tools sonographers know: a rubber-band drag, an edit carried along the motion."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.rubber_band import drag_weights, max_turning_deg, rubber_band_move
from app.workflow.edits import ContourEdit
from app.workflow.propagate import PropagationRange, blend_weight, range_to_marks
from app.workflow.study import StudyState
from tests.ui_fixtures import area_measure, fake_analysis, synthetic_echo

SPACING_MM = (0.5, 0.5)


@pytest.fixture(scope="module")
def endo():
    from app.workflow.contour_adapter import control_contours_from_analysis

    _, labels = synthetic_echo(4)
    return control_contours_from_analysis(fake_analysis(labels))[(0, 0)]["endo"]


def test_a_drag_moves_the_neighbours_by_a_decreasing_share_and_leaves_far_points(endo):
    i, radius_mm = 6, 15.0
    pts = endo.points_px
    d = np.array([10.0, 0.0])
    moved = endo.dragged(i, pts[i] + d, radius_mm, SPACING_MM).points_px
    shift = np.hypot(*(moved - pts).T)
    assert shift[i] == pytest.approx(10.0)
    assert 10.0 > shift[i + 1] > shift[i + 2] > 0 and 10.0 > shift[i - 1] > shift[i - 2] > 0
    arc_mm = np.abs(np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]) - 0) * SPACING_MM[0]
    far = np.abs(arc_mm - arc_mm[i]) >= radius_mm
    assert far.sum() > 10 and np.all(shift[far] == 0.0)
    np.testing.assert_allclose(moved - pts, shift[:, None] * d[None] / 10.0, atol=1e-9)  # along the drag


def test_a_smooth_drag_leaves_no_spike(endo):
    i = 6
    target = endo.points_px[i] + [12.0, 0.0]
    spike = max_turning_deg(endo.moved(i, target).dense())
    smooth = max_turning_deg(endo.dragged(i, target, 15.0, SPACING_MM).dense())
    original = max_turning_deg(endo.dense())
    assert spike > 3 * original  # one point alone makes a kink (35 degrees here)
    assert smooth < spike / 2 and smooth < 15.0  # 14 degrees: a 6 mm drag bends a 15 mm stretch


def test_an_annulus_drag_does_not_move_the_apex_and_the_annulus_stays_unless_dragged(endo):
    pts = endo.points_px
    apex = int(np.argmin(pts[:, 1]))
    moved = endo.dragged(0, pts[0] + [0.0, -20.0], 200.0, SPACING_MM).points_px  # a huge radius is capped
    assert np.all(moved[apex - 2:] == pts[apex - 2:])
    assert moved[1, 1] < pts[1, 1]
    mid = rubber_band_move(pts, 1, pts[1] + [6.0, 0.0], 30.0, False, SPACING_MM)
    assert np.all(mid[0] == pts[0]) and np.all(mid[-1] == pts[-1])  # the other annulus point is not pulled


def test_closed_contours_wrap_round_and_zero_radius_moves_one_point():
    theta = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ring = np.column_stack([50 + 30 * np.cos(theta), 50 + 30 * np.sin(theta)])
    w = drag_weights(ring, 0, 20.0, closed=True)
    assert w[1] == pytest.approx(w[-1]) and w[1] > 0 and w[10] == 0
    w0 = drag_weights(ring, 0, 0.0, closed=True)
    assert w0[0] == 1 and w0[1:].sum() == 0


def test_propagation_ranges_and_blend():
    assert range_to_marks(9, 22, (0, 9, 21)) == PropagationRange(8, 11)
    assert range_to_marks(5, 22, (0, 9)) == PropagationRange(4, 3)
    assert range_to_marks(3, 10, ()) == PropagationRange(3, 6)
    assert blend_weight(0, 3) == 1.0 and blend_weight(4, 3) == 0.0
    assert 1.0 > blend_weight(1, 3) > blend_weight(2, 3) > blend_weight(3, 3) > 0.0


@pytest.fixture(scope="module")
def phantom():
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    params = EchoPhantomParams(heart=HeartParams(edv_ml=120, esv_ml=50), view="a4c", beats=1,
                               frame_rate_hz=25.0, image_shape_px=(128, 128), quality="good")
    return make_echo(params, seed=3)


def phantom_study(phantom) -> StudyState:
    truth = phantom.truth
    study = StudyState(measure_fn=area_measure, biplane_fn=None)
    study.add_recording(phantom.recording)
    study.set_analysis(0, fake_analysis(truth.labels, ed_frames=truth.ed_frames, es_frames=truth.es_frames))
    return study


def test_an_inward_edit_at_es_propagated_three_frames_is_one_undo_step(phantom):
    study = phantom_study(phantom)
    st = study[0]
    es = int(phantom.truth.es_frames[0])
    before = list(st.measurements["area_px2"])
    contours_before = {k: d["endo"].points_px.copy() for k, d in st.contours.items()}
    old = st.contour((0, es), "endo")
    inward = old.with_points(old.points_px + 0.15 * (old.points_px.mean(axis=0) - old.points_px))
    cmd = ContourEdit(0, (0, es), "endo", inward, old, PropagationRange(3, 3))
    cmd.apply(study)
    after = st.measurements["area_px2"]
    in_range = range(es - 3, es + 4)
    for f, (a0, a1) in enumerate(zip(before, after, strict=False)):
        if f in in_range:
            assert a1 < a0 - 5.0, f"frame {f} area {a0:.0f} -> {a1:.0f}"
        else:
            assert a1 == a0 and np.array_equal(st.contour((0, f), "endo").points_px, contours_before[(0, f)])
    drop = [before[f] - after[f] for f in in_range]
    assert drop[3] == max(drop) and drop[0] < drop[2] and drop[6] < drop[4]  # blended towards the ends
    assert st.edited_keys == {(0, f) for f in in_range}
    assert st.propagated_keys == {(0, f) for f in in_range if f != es}
    cmd.revert(study)
    assert st.measurements["area_px2"] == before and not st.edited_keys and not st.propagated_keys
    for k, pts in contours_before.items():
        np.testing.assert_array_equal(st.contour(k, "endo").points_px, pts)


def test_propagation_stops_at_a_hand_edit_but_rewrites_a_propagated_frame(phantom):
    study = phantom_study(phantom)
    st = study[0]
    old = st.contour((0, 9), "endo")
    down = old.with_points(old.points_px + [0.0, 3.0])
    ContourEdit(0, (0, 9), "endo", down, old, PropagationRange(2, 2)).apply(study)
    assert st.propagated_keys == {(0, 7), (0, 8), (0, 10), (0, 11)}
    old8 = st.contour((0, 8), "endo")
    edit = ContourEdit(0, (0, 8), "endo", old8.with_points(old8.points_px + [2.0, 0.0]), old8, PropagationRange(3, 3))
    edit.apply(study)
    assert (0, 8) not in st.propagated_keys and (0, 8) in st.edited_keys
    assert {f for _, f in edit.changed_keys} == {5, 6, 7, 8}  # stops at the hand-edited frame 9
    edit.revert(study)
    assert st.propagated_keys == {(0, 7), (0, 8), (0, 10), (0, 11)}


def test_propagated_edits_survive_the_autosave(phantom, tmp_path, monkeypatch):
    from app.workflow import autosave

    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path))
    study = phantom_study(phantom)
    old = study[0].contour((0, 9), "endo")
    ContourEdit(0, (0, 9), "endo", old.with_points(old.points_px * 0.97), old, PropagationRange(2, 2)).apply(study)
    path = autosave.save(study.to_json(0), study.save_key(0))
    again = StudyState(measure_fn=area_measure, biplane_fn=None)
    again.add_recording(phantom.recording)
    again.restore_json(0, __import__("json").loads(path.read_text()))
    assert again[0].propagated_keys == study[0].propagated_keys and again[0].edited_keys == study[0].edited_keys
    for f in (7, 8, 9, 10, 11):
        np.testing.assert_allclose(again[0].contour((0, f), "endo").points_px,
                                   study[0].contour((0, f), "endo").points_px, atol=1e-5)


def test_reanalysis_keeps_propagated_edits_and_undo_brings_back_the_marks(phantom):
    from app.workflow.edits import AnalysisEdit

    study = phantom_study(phantom)
    st = study[0]
    old = st.contour((0, 9), "endo")
    ContourEdit(0, (0, 9), "endo", old.with_points(old.points_px * 0.97), old, PropagationRange(2, 2)).apply(study)
    edited = {k: st.contour(k, "endo").points_px.copy() for k in st.edited_keys}
    propagated = set(st.propagated_keys)
    truth = phantom.truth
    again = AnalysisEdit(0, fake_analysis(truth.labels, ed_frames=truth.ed_frames, es_frames=truth.es_frames))
    again.apply(study)
    assert st.propagated_keys == propagated and set(edited) == st.edited_keys
    for k, pts in edited.items():
        np.testing.assert_array_equal(st.contour(k, "endo").points_px, pts)
    replace = AnalysisEdit(0, again.analysis, keep_edits=False)
    replace.apply(study)
    assert not st.propagated_keys and not st.edited_keys
    replace.revert(study)
    assert st.propagated_keys == propagated


def test_a_drag_on_an_adult_border_bends_two_points_each_side():
    """Issue 54: on the demo A4C (control points 9 mm apart) a 15 mm radius moved only the next point on each
    side, by a third: the spline drew a visible tent. The neighbourhood now spans at least three gaps."""
    from pathlib import Path

    from report_fixtures import analyze_with_labels

    from app.data.readers import load_recording
    from app.workflow.contour_adapter import control_contours_from_analysis

    demo = Path(__file__).resolve().parents[1] / "resources" / "demo"
    recording = load_recording(demo / "a4c.dcm")
    analysis = analyze_with_labels(recording, np.load(demo / "a4c.truth.npz")["labels"])
    endo = control_contours_from_analysis(analysis)[(0, 0)]["endo"]
    i, d = 8, np.array([8.0, 0.0])  # about 7 mm at 0.93 mm/px
    moved = endo.dragged(i, endo.points_px[i] + d, 15.0, recording.spacing_mm).points_px
    shift = np.hypot(*(moved - endo.points_px).T) / 8.0
    assert shift[i] == pytest.approx(1.0)
    assert 0.6 < shift[i - 1] < 0.9 and 0.6 < shift[i + 1] < 0.9  # 3/4 of the drag
    assert 0.1 < shift[i - 2] < 0.4 and 0.1 < shift[i + 2] < 0.4  # 1/4
    assert np.all(shift[: i - 3] == 0) and np.all(shift[i + 4:] == 0)
