"""The phantom's ground truth is self-consistent: masks, volumes, ED/ES, displacement and strain."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from app.data.phantom import EchoPhantomParams, HeartParams, MriPhantomParams, make_echo, make_mri

SMALL = dict(beats=1, frame_rate_hz=30.0, image_shape_px=(160, 160))


def disks_volume_ml(cavity: np.ndarray, apex_px: np.ndarray, annulus_px: np.ndarray, spacing_mm: float,
                    n_disks: int = 20) -> float:
    """Single-plane method of disks on a cavity mask (written here so the test does not depend on the
    analysis package): 20 disks perpendicular to the annulus-midpoint -> apex axis."""
    base = annulus_px.mean(axis=0)
    axis = apex_px - base
    length = float(np.linalg.norm(axis))
    axis /= length
    perp = np.array([-axis[1], axis[0]])
    mask = cavity.astype(np.float32)
    s = np.arange(-60.0, 60.0, 0.05)
    total = 0.0
    for k in range(n_disks):
        centre = base + axis * length * (k + 0.5) / n_disks
        pts = centre[None, :] + s[:, None] * perp[None, :]
        inside = map_coordinates(mask, pts.T, order=1) > 0.5
        diameter = inside.sum() * 0.05
        total += diameter**2
    return float(np.pi / 4.0 * total * length / n_disks * spacing_mm**3 / 1000.0)


@pytest.fixture(scope="module", params=["a4c", "a2c", "a3c"])
def echo_case(request):
    return make_echo(EchoPhantomParams(view=request.param, **SMALL), seed=7)


@pytest.fixture(scope="module")
def sick_case():
    heart = HeartParams(edv_ml=150.0, esv_ml=90.0, hypokinetic=("mid_anterolateral",))
    return make_echo(EchoPhantomParams(heart=heart, view="a4c", **SMALL), seed=3)


@pytest.fixture(scope="module")
def mri_case():
    params = MriPhantomParams(n_phases=12, n_slices=8, image_px=128, pixel_mm=1.6,
                              heart=HeartParams(infarct=("mid_anterior", "apical_anterior")))
    return make_mri(params, seed=5)


def test_labels_have_all_classes_inside_the_sector(echo_case):
    t, r = echo_case.truth, echo_case.recording
    assert t.labels.shape == r.frames.shape and t.labels.dtype == np.uint8
    for frame in (0, t.es_frames[0]):
        assert set(np.unique(t.labels[frame])) == {0, 1, 2, 3}
    assert not np.any(t.labels[:, ~r.sector_mask])


def test_method_of_disks_on_masks_matches_volume(echo_case):
    t = echo_case.truth
    spacing = t.spacing_mm[0]
    for f in range(0, len(t.volume_ml), 3):
        v = disks_volume_ml(t.labels[f] == 1, t.apex_px[f], t.annulus_px[f], spacing)
        assert v == pytest.approx(t.volume_ml[f], rel=0.03), f"frame {f}"


def test_volume_curve_hits_edv_esv_and_ed_es_are_extremes(echo_case):
    t = echo_case.truth
    assert t.model_volume_ml.max() == pytest.approx(120.0, abs=0.05)
    assert t.model_volume_ml.min() == pytest.approx(50.0, abs=0.5)
    assert t.edv_ml == pytest.approx(120.0, rel=0.01) and t.esv_ml == pytest.approx(50.0, rel=0.02)
    assert t.ed_frames[0] == 0 and len(t.es_frames) == 1
    assert t.volume_ml[t.ed_frames[0]] >= t.volume_ml.max() - 0.5
    assert t.volume_ml[t.es_frames[0]] <= t.volume_ml.min() + 0.5
    # a realistic cycle: systole shorter than diastole, ES about a third into the cycle
    cycle_frames = t.ed_frames[-1] - t.ed_frames[0]
    assert 0.25 < t.es_frames[0] / cycle_frames < 0.5


def test_wall_thickens_in_systole(echo_case):
    t = echo_case.truth
    myo_ed = (t.labels[t.ed_frames[0]] == 2).sum()
    myo_es = (t.labels[t.es_frames[0]] == 2).sum()
    length = lambda f: np.sum(np.linalg.norm(np.diff(t.midline_px[f], axis=0), axis=1))  # noqa: E731
    thickness_ratio = (myo_es / length(t.es_frames[0])) / (myo_ed / length(t.ed_frames[0]))
    assert 1.2 < thickness_ratio < 1.9


def test_apex_nearly_still_and_annulus_moves_to_apex(echo_case):
    t = echo_case.truth
    spacing = t.spacing_mm[0]
    ed, es = t.ed_frames[0], t.es_frames[0]
    apex_motion = np.linalg.norm(t.apex_px[es] - t.apex_px[ed]) * spacing
    annulus_motion = np.linalg.norm(t.annulus_px[es].mean(0) - t.annulus_px[ed].mean(0)) * spacing
    assert apex_motion < 1.0
    assert 8.0 < annulus_motion < 20.0  # MAPSE
    assert np.linalg.norm(t.annulus_px[es].mean(0) - t.apex_px[es]) < np.linalg.norm(
        t.annulus_px[ed].mean(0) - t.apex_px[ed]
    )


def test_strain_from_displacement_field_matches_strain_curves(echo_case):
    t = echo_case.truth
    ref = t.reference_frame
    pts = t.midline_px[ref][2:-2]  # interior points (the basal ends touch the mask edge)
    for f in range(0, len(t.gls_pct), 4):
        d = t.displacement_px[f]
        moved = pts + np.stack([map_coordinates(d[..., i], pts.T, order=1) for i in range(2)], axis=1)
        assert np.median(np.linalg.norm(moved - t.midline_px[f][2:-2], axis=1)) < 0.3
        l0 = np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1))
        l1 = np.sum(np.linalg.norm(np.diff(moved, axis=0), axis=1))
        inner_true = np.sum(np.linalg.norm(np.diff(t.midline_px[f][2:-2], axis=0), axis=1))
        assert 100 * (l1 / l0 - 1) == pytest.approx(100 * (inner_true / l0 - 1), abs=0.6)
    assert np.all(t.displacement_px[:, t.labels[ref] != 2] == 0)


def test_strain_values_are_physiological(echo_case):
    t = echo_case.truth
    assert t.gls_pct[t.reference_frame] == 0.0
    assert -24.0 < t.peak_gls_pct < -15.0
    assert t.segmental_strain_pct.shape == (len(t.gls_pct), 6) and len(t.segment_names) == 6
    assert np.all(t.segmental_strain_pct.min(axis=0) < -10.0)
    assert t.midline_px.shape == (len(t.gls_pct), 120, 2)


def test_hypokinetic_segment_moves_less(sick_case):
    t = sick_case.truth
    k = t.segment_names.index("mid_anterolateral")
    peak = t.segmental_strain_pct.min(axis=0)
    others = np.delete(peak, k)
    assert 0.6 * others.max() < peak[k] < -2.0  # shortens, but far less than any normal segment
    assert t.edv_ml == pytest.approx(150.0, rel=0.03)


def test_mri_volume_is_slice_summation_and_close_to_the_model(mri_case):
    t, r = mri_case.truth, mri_case.recording
    assert r.frames.shape == t.labels.shape == (8, 12, 128, 128) and r.frames.dtype == np.uint16
    summed = (t.labels == 1).sum(axis=(0, 2, 3)) * 1.6**2 * 10.0 / 1000.0
    np.testing.assert_allclose(t.volume_ml, summed)
    np.testing.assert_allclose(t.volume_ml, t.model_volume_ml, rtol=0.15)
    assert t.volume_ml[t.ed_frames[0]] == t.volume_ml.max()
    assert t.volume_ml[t.es_frames[0]] <= t.volume_ml.min() + 1.0
    assert r.slice_spacing_mm == 10.0 and r.view == "sax"


def test_mri_through_plane_motion_and_bright_blood(mri_case):
    t, r = mri_case.truth, mri_case.recording
    ed, es = t.ed_frames[0], t.es_frames[0]
    lv_slices_ed = [s for s in range(8) if (t.labels[s, ed] == 1).any()]
    lv_slices_es = [s for s in range(8) if (t.labels[s, es] == 1).any()]
    assert lv_slices_es[0] >= lv_slices_ed[0] and len(lv_slices_es) <= len(lv_slices_ed)
    mid = 3
    blood = r.frames[mid, ed][t.labels[mid, ed] == 1].astype(float)
    myo = r.frames[mid, ed][t.labels[mid, ed] == 2].astype(float)
    assert np.median(blood) > 2.0 * np.median(myo)


def test_infarcted_segments_are_akinetic():
    heart = HeartParams(infarct=("mid_anterior", "apical_anterior"))
    t = make_echo(EchoPhantomParams(heart=heart, view="a2c", **SMALL), seed=1).truth
    peak = dict(zip(t.segment_names, t.segmental_strain_pct.min(axis=0), strict=True))
    assert peak["mid_anterior"] > -3.0 and peak["apical_anterior"] > -3.0
    assert peak["mid_inferior"] < -15.0


def test_mri_infarct_is_thinner(mri_case):
    t = mri_case.truth
    s = 4  # a mid-ventricular slice
    myo = t.labels[s, t.ed_frames[0]] == 2
    rows, cols = np.nonzero(myo)
    centre = np.array([rows.mean(), cols.mean()])
    angle = np.degrees(np.arctan2(-(rows - centre[0]), cols - centre[1])) % 360
    anterior = np.abs(angle - 90) < 20
    inferior = np.abs(angle - 270) < 20
    assert anterior.sum() < 0.8 * inferior.sum()


def test_mri_displacement_is_inward_in_systole(mri_case):
    t = mri_case.truth
    s, ed, es = 4, t.ed_frames[0], t.es_frames[0]
    myo = np.argwhere(t.labels[s, ed] == 2)
    centre = myo.mean(axis=0)
    outward = (myo - centre) / np.linalg.norm(myo - centre, axis=1, keepdims=True)
    radial = np.sum(t.displacement_px[s, es][myo[:, 0], myo[:, 1]] * outward, axis=1)
    assert np.median(radial) < -1.0  # the wall moves toward the centre
    assert np.all(t.displacement_px[s, ed] == 0)


def test_progress_reports_and_cancellation():
    from app.data.phantom import iter_make_echo

    seen = []
    make_echo(EchoPhantomParams(**{**SMALL, "image_shape_px": (112, 112)}), seed=1,
              progress=lambda p: seen.append(p.fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10
    gen = iter_make_echo(EchoPhantomParams(**SMALL), seed=1)
    assert 0.0 < next(gen).fraction < 0.2
    gen.close()  # cancelling leaves nothing behind
