"""The phantom's strain truth with regional dysfunction: a smooth, unfolded midline whose strain is the
strain of the true displacement, a diffeomorphic wall motion, and tapered segment edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from app.data.phantom import EchoPhantomParams, HeartParams, make_echo, strain_curves
from app.data.phantom.cycle import CardiacCycle
from app.data.phantom.echo import midline_material_points
from app.data.phantom.heart import HeartModel
from app.data.phantom.section import make_section
from app.data.phantom.segments import VIEW_WALL_AZIMUTH_DEG, segment_weight

SICK = {"a4c": "mid_anterolateral", "a2c": "apical_anterior", "a3c": "mid_inferolateral"}
FPS = 30.0


def _sections(view: str, hypokinetic: tuple[str, ...] = (), infarct: tuple[str, ...] = ()):
    heart = HeartParams(edv_ml=150.0, esv_ml=70.0, hypokinetic=hypokinetic, infarct=infarct)
    model = HeartModel(heart)
    cycle = CardiacCycle(heart, model, 1, FPS)
    return [
        make_section(model, VIEW_WALL_AZIMUTH_DEG[view], s, c)
        for s, c in zip(cycle.progress, cycle.radial_scale, strict=True)
    ]


def _material_midline(sections) -> np.ndarray:
    """(T, 120, 2) the truth's material midline points (as make_echo builds them)."""
    p = midline_material_points(sections[0])
    return np.stack([np.stack([np.interp(p, s.p, s.wall(0.5)[:, i]) for i in range(2)], 1) for s in sections])


CASES = [("a4c", (SICK["a4c"],), ()), ("a2c", (SICK["a2c"],), ()), ("a3c", (SICK["a3c"],), ()),
         ("a4c", (), ()), ("a2c", (), ("mid_anterior", "apical_anterior"))]


@pytest.mark.parametrize("view,hypo,infarct", CASES)
def test_midline_neither_folds_nor_kinks(view, hypo, infarct):
    mid = _material_midline(_sections(view, hypo, infarct))
    steps = np.diff(mid, axis=1)
    spacing = np.linalg.norm(steps, axis=2)
    ratio = spacing / spacing[0]
    assert ratio.min() > 0.6 and ratio.max() < 1.15  # every element keeps a positive, plausible length
    # consecutive elements stretch alike: no element shortens much more than its neighbours (an akinetic
    # apical segment meets the normal opposite wall at the apex point: a strain step, not a fold)
    if not infarct:
        assert np.abs(ratio[:, 1:-1] - 0.5 * (ratio[:, :-2] + ratio[:, 2:])).max() < 0.03
    # no kink: each point turns the line about as much as its neighbours do (the old phantom turned up
    # to 19 deg more at the apex, and 5-8 deg at hypokinetic segment edges)
    angle = np.unwrap(np.arctan2(steps[..., 1], steps[..., 0]), axis=1)
    turn = np.degrees(np.diff(angle, axis=1))
    # (an apical infarct thins one side of the apex only; without an apical cap segment its edge there
    # bends the midline a little - 71 deg in the old phantom)
    assert np.abs(turn).max() < 10.0
    assert np.abs(turn[:, 1:-1] - 0.5 * (turn[:, :-2] + turn[:, 2:])).max() < (6.0 if infarct else 2.0)
    # never folds back: successive elements point the same way
    cos = np.sum(steps[:, 1:] * steps[:, :-1], axis=2) / (spacing[:, 1:] * spacing[:, :-1])
    assert cos.min() > np.cos(np.radians(10.0))


@pytest.mark.parametrize("view,hypo,infarct", CASES[:3] + CASES[4:])
def test_wall_motion_is_a_diffeomorphism(view, hypo, infarct):
    """The map from material wall coordinates (p, w) to the plane keeps its orientation everywhere and
    changes the area of no wall element by more than a factor of two."""
    w = np.linspace(0.0, 1.0, 11)
    dets = []
    for sec in _sections(view, hypo, infarct):
        mesh = sec.endo[:, None, :] + w[None, :, None] * (sec.epi - sec.endo)[:, None, :]
        a, b = np.gradient(mesh, sec.p, axis=0), np.gradient(mesh, w, axis=1)
        dets.append(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
    dets = np.array(dets)
    assert np.all(np.sign(dets[0]) == np.sign(dets[0, 0, 0]))
    ratio = dets / dets[0]
    assert ratio.min() > 0.5 and ratio.max() < 2.0


def test_segment_edges_are_cosine_tapers():
    q = np.linspace(0.0, 1.0, 2001)
    w = segment_weight("mid_anterior", q, 90.0)
    assert w[np.abs(q - 0.5) < 0.08].min() == 1.0  # full weight in the segment's core
    assert w[(q < 0.25) | (q > 0.75)].max() == 0.0  # none beyond half a taper outside
    assert segment_weight("mid_anterior", np.array([1 / 3, 2 / 3]), 90.0) == pytest.approx([0.5, 0.5])
    slope = np.diff(w) / np.diff(q)
    assert np.abs(np.diff(slope)).max() < 0.05 * np.abs(slope).max()  # continuous slope: no corner
    assert segment_weight("mid_anterior", 0.5, [90.0, 120.0, 150.0]) == pytest.approx([1.0, 0.5, 0.0])


def test_apex_is_shared_by_both_walls():
    sections = _sections("a2c", (SICK["a2c"],))
    sec = sections[len(sections) // 3]  # end-systole, about a third into the cycle
    k = len(sec.p) // 2
    h = sec.thickness
    assert abs(h[k - 1] - h[k + 1]) < 0.01 and abs(h[k] - 0.5 * (h[k - 1] + h[k + 1])) < 0.01


@pytest.fixture(scope="module", params=["a4c", "a2c", "a3c"])
def sick_clip(request):
    heart = HeartParams(edv_ml=150.0, esv_ml=70.0, hypokinetic=(SICK[request.param],))
    params = EchoPhantomParams(heart=heart, view=request.param, beats=1, frame_rate_hz=FPS, image_shape_px=(128, 128))
    return make_echo(params, seed=3)


def test_hypokinetic_truth_strain_is_the_strain_of_the_true_displacement(sick_clip):
    t = sick_clip.truth
    ref = t.reference_frame
    pts = t.midline_px[ref]
    moved = np.stack([pts + np.stack([map_coordinates(d[..., i], pts.T, order=1) for i in range(2)], axis=1)
                      for d in t.displacement_px])
    scale = np.asarray(t.spacing_mm)
    inner = slice(2, -2)  # the basal end points sit on the mask edge, where the field stops
    gls_moved, seg_moved = strain_curves(moved[:, inner] * scale, ref)
    gls_truth, seg_truth = strain_curves(t.midline_px[:, inner] * scale, ref)
    np.testing.assert_allclose(gls_moved, gls_truth, atol=0.05)
    np.testing.assert_allclose(seg_moved, seg_truth, atol=0.1)
    np.testing.assert_allclose(gls_truth, t.gls_pct, atol=0.3)  # the inner points carry the global strain
    # and the truth's own curves are those of its midline points
    gls, seg = strain_curves(t.midline_px * scale, ref)
    np.testing.assert_allclose(gls, t.gls_pct, atol=1e-4)
    np.testing.assert_allclose(seg, t.segmental_strain_pct, atol=1e-4)


def test_hypokinetic_segment_is_the_least_shortening_truth_segment(sick_clip):
    t = sick_clip.truth
    peak = t.segmental_strain_pct.min(axis=0)
    k = t.segment_names.index(SICK[t.view])
    assert int(np.argmax(peak)) == k
    assert peak[k] > np.delete(peak, k).max() + 5.0
    assert -25.0 < t.peak_gls_pct < -8.0
