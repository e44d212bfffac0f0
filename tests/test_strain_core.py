"""Strain building blocks: Kalman CA tracker, centerline of a ring myocardium, strain arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter

from app.analysis.centerline import (
    centerline_from_labels,
    polyline_length,
    project_onto_polyline,
    resample_polyline,
)
from app.analysis.kalman import KalmanParams, PointTracker, filter_tracks
from app.analysis.strain import (
    AHA_NUMBER,
    StrainResult,
    combine_views,
    lagrangian_strain_pct,
    segment_bounds,
    strain_from_tracks,
)


# -- Kalman -------------------------------------------------------------------------------------
def _ca_tracks(n_frames=60, n_points=120, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames, dtype=float)[:, None, None]
    p0 = rng.uniform(20, 200, (1, n_points, 2))
    v0 = rng.uniform(-1, 1, (1, n_points, 2))
    a = rng.uniform(-0.03, 0.03, (1, n_points, 2))
    pos = p0 + v0 * t + 0.5 * a * t**2
    vel = v0 + a * t  # instantaneous velocity per frame
    return pos, vel


def test_kalman_follows_constant_acceleration_and_beats_noisy_positions():
    pos, vel = _ca_tracks()
    rng = np.random.default_rng(1)
    z_pos = pos + rng.normal(0, 1.5, pos.shape)
    z_vel = vel + rng.normal(0, 0.1, vel.shape)
    z_pos[0] = pos[0]
    out = filter_tracks(z_pos, z_vel, KalmanParams(position_noise_px=1.5, velocity_noise_px=0.1))
    raw_rmse = np.sqrt(np.mean((z_pos[10:] - pos[10:]) ** 2))
    kf_rmse = np.sqrt(np.mean((out[10:] - pos[10:]) ** 2))
    assert kf_rmse < 0.5 * raw_rmse
    exact = filter_tracks(pos, vel, KalmanParams())
    assert np.abs(exact - pos).max() < 0.05


def test_vectorised_tracker_equals_one_filterpy_filter_per_point():
    pos, vel = _ca_tracks(n_frames=20, n_points=5, seed=2)
    rng = np.random.default_rng(3)
    z_pos, z_vel = pos + rng.normal(0, 1, pos.shape), vel + rng.normal(0, 0.2, vel.shape)
    params = KalmanParams()
    tracker = PointTracker(z_pos[0], params, velocities_px=z_vel[0])
    ours = [tracker.positions_px]
    for t in range(1, 20):
        tracker.predict()
        ours.append(tracker.update(z_pos[t], z_vel[t]))
    ours = np.array(ours)
    for i in range(5):
        for axis in range(2):
            kf = KalmanFilter(dim_x=3, dim_z=2)
            kf.F = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
            kf.H = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
            kf.Q = Q_discrete_white_noise(dim=3, dt=1.0, var=params.accel_noise_px**2)
            kf.R = np.diag([params.position_noise_px**2, params.velocity_noise_px**2])
            kf.P = np.diag([0.5**2, params.initial_velocity_std_px**2, params.initial_accel_std_px**2])
            kf.x = np.array([[z_pos[0, i, axis]], [z_vel[0, i, axis]], [0.0]])
            for t in range(1, 20):
                kf.predict()
                kf.update(np.array([[z_pos[t, i, axis]], [z_vel[t, i, axis]]]))
                assert ours[t, i, axis] == pytest.approx(kf.x[0, 0], abs=1e-9)


# -- centerline ---------------------------------------------------------------------------------
def horseshoe_labels(shape=(220, 220), centre=(110.0, 150.0), r_in=40.0, r_out=52.0, stretch=1.0):
    """Apical-like label map: upper half of a ring (myocardium 2) around a half disc (cavity 1);
    the ring is stretched along rows (long axis) by `stretch`."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    r = np.hypot(xx - centre[0], (yy - centre[1]) / stretch)
    upper = yy <= centre[1]
    lab = np.zeros(shape, np.uint8)
    lab[(r < r_in) & upper] = 1
    lab[(r >= r_in) & (r < r_out) & upper] = 2
    return lab


def test_centerline_of_ring_is_120_equally_spaced_points_midway_between_borders():
    lab = horseshoe_labels()
    c = centerline_from_labels(lab)
    pts = c.points_px
    assert pts.shape == (120, 2)
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    assert steps.std() / steps.mean() < 0.01
    radius = np.hypot(pts[:, 0] - 110.0, pts[:, 1] - 150.0)
    assert np.all(radius > 44.0) and np.all(radius < 47.5)  # midway between 40 and 52 (pixel grid)
    assert pts[0, 0] < 110.0 < pts[-1, 0]  # image-left annulus first
    assert pts[:, 1].min() < 150.0 - 44.0  # passes over the apex
    assert abs(pts[0, 1] - 150.0) < 3.0 and abs(pts[-1, 1] - 150.0) < 3.0  # ends at the base
    assert np.median(c.thickness_px) == pytest.approx(12.0, abs=1.0)


def test_centerline_rejects_labels_without_cavity():
    lab = horseshoe_labels()
    lab[lab == 1] = 0
    with pytest.raises(ValueError):
        centerline_from_labels(lab)


def test_centerline_length_scales_with_the_myocardium():
    base = centerline_from_labels(horseshoe_labels(stretch=1.4)).length_px
    small = centerline_from_labels(horseshoe_labels(r_in=36.0, r_out=46.8, stretch=1.4)).length_px
    assert small / base == pytest.approx(0.9, abs=0.012)


def test_longest_true_run_of_a_circular_array_is_the_first_longest():
    """The endocardium's run of border points touching the myocardium: against a plain scan of every start."""
    from app.analysis.centerline import _longest_true_run

    def longest(flags):  # a plain scan of every run's start (circularly)
        n = len(flags)
        return max(next(k for k in range(1, n + 1) if not flags[(s + k) % n])
                   for s in range(n) if flags[s] and not flags[s - 1])

    rng = np.random.default_rng(3)
    for _ in range(400):
        flags = rng.random(int(rng.integers(2, 40))) < rng.uniform(0.2, 0.9)
        if flags.all() or not flags.any():
            continue
        start, length = _longest_true_run(flags)
        assert length == longest(flags)
        # ties: the first longest after the first False (the start a scan from there meets first)
        shift = int(np.argmin(flags))
        firsts = sorted(s for s in range(len(flags)) if flags[s] and not flags[s - 1]
                        and all(flags[(s + k) % len(flags)] for k in range(length)))
        assert start == min(firsts, key=lambda s: (s - shift) % len(flags))
    with pytest.raises(ValueError, match="surrounds"):
        _longest_true_run(np.ones(5, bool))
    with pytest.raises(ValueError, match="does not touch"):
        _longest_true_run(np.zeros(5, bool))


def test_polyline_helpers():
    line = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    assert polyline_length(line) == pytest.approx(20.0)
    res = resample_polyline(line, 5)
    np.testing.assert_allclose(res, [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10]], atol=1e-9)
    proj, dist = project_onto_polyline(np.array([[4.0, 3.0], [12.0, 7.0]]), line)
    np.testing.assert_allclose(proj, [[4, 0], [10, 7]])
    np.testing.assert_allclose(dist, [3, 2])


# -- strain arithmetic --------------------------------------------------------------------------
def _scaled_tracks(scales, per_segment=None):
    c = centerline_from_labels(horseshoe_labels(stretch=1.5)).points_px
    centre = c.mean(axis=0)
    tracks = np.stack([centre + (c - centre) * s for s in scales])
    if per_segment is not None:  # rebuild each segment from its own scaled steps
        b = segment_bounds(120)
        steps = np.diff(c, axis=0)
        out = []
        for s in scales:
            f = np.ones(119)
            for k, m in enumerate(per_segment):
                f[b[k] : b[k + 1]] = 1.0 + (s - 1.0) * m
            out.append(np.concatenate([c[:1], c[:1] + np.cumsum(steps * f[:, None], axis=0)]))
        tracks = np.stack(out)
    return tracks


def test_strain_of_uniformly_scaled_centerline_equals_the_scale():
    scales = 1.0 - 0.2 * np.sin(np.linspace(0, np.pi, 25))  # 20 % shortening at mid cycle
    tracks = _scaled_tracks(scales)
    res = strain_from_tracks(tracks, (0.3, 0.45), [0], np.zeros(tracks.shape[:2]), view="a4c")
    np.testing.assert_allclose(res.strain_curve_pct, 100 * (scales - 1), atol=1e-9)
    np.testing.assert_allclose(res.segmental_strain_pct, 100 * (scales - 1)[:, None].repeat(6, 1), atol=1e-9)
    assert res.gls_pct == pytest.approx(-20.0, abs=1e-6)
    assert res.segment_names[0] == "basal_inferoseptal" and res.segment_names[-1] == "basal_anterolateral"
    assert all(res.segment_ok)


def test_hypokinetic_segment_has_the_least_shortening():
    scales = 1.0 - 0.2 * np.sin(np.linspace(0, np.pi, 25))
    tracks = _scaled_tracks(scales, per_segment=[1, 1, 1, 1, 0.35, 1])
    res = strain_from_tracks(tracks, (0.4, 0.4), [0], np.zeros(tracks.shape[:2]), view="a2c")
    peaks = np.array(res.segment_peak_pct)
    assert int(np.argmax(peaks)) == 4
    assert peaks[4] == pytest.approx(-7.0, abs=0.01) and peaks[0] == pytest.approx(-20.0, abs=0.01)


def test_strain_is_referred_to_each_beats_end_diastole():
    lengths = np.array([100.0, 90.0, 80.0, 95.0, 110.0, 99.0, 88.0])
    out = lagrangian_strain_pct(lengths, [0, 4])
    np.testing.assert_allclose(out, [0, -10, -20, -5, 0, -10, -20])
    with pytest.raises(ValueError):
        lagrangian_strain_pct(lengths, [])


def test_poor_tracking_marks_the_segment_and_bullseye_keeps_it_out_of_averages():
    scales = 1.0 - 0.2 * np.sin(np.linspace(0, np.pi, 25))
    tracks = _scaled_tracks(scales)
    dis = np.zeros(tracks.shape[:2])
    dis[:, 45:55] = 3.0  # the apical-left segment disagrees with the segmentation by 3 mm
    results = [strain_from_tracks(tracks, (0.4, 0.4), [0], dis if v == "a4c" else dis * 0, view=v)
               for v in ("a4c", "a2c", "a3c")]
    a4c = results[0]
    assert a4c.low_quality_segments == ("apical_septal",)
    d = a4c.to_json_dict()
    assert set(d) >= {"gls_pct", "strain_curve_pct", "segmental_strain_pct", "strain_quality"}
    assert d["strain_quality"]["apical_septal"]["ok"] is False
    assert len(d["segmental_strain_pct"]["mid_inferoseptal"]["curve"]) == 25
    study = combine_views(results)
    assert study.gls_mean_pct == pytest.approx(-20.0)
    assert set(study.aha_peak_pct) == set(range(1, 18))
    assert 14 not in study.unreliable  # A3C still sees the apical septum with good tracking
    assert set(AHA_NUMBER.values()) == set(range(1, 17))
    assert isinstance(a4c, StrainResult)


def test_segment_names_match_the_phantom_convention():
    from app.analysis.strain import VIEW_SEGMENT_NAMES
    from app.data.phantom import segments as phantom_segments
    for view, names in VIEW_SEGMENT_NAMES.items():
        assert phantom_segments.view_segment_names(view) == names


def test_beat_windows_and_peaks_over_several_beats():
    from app.analysis.strain import beat_windows, peak_systolic_pct, reference_frames

    np.testing.assert_array_equal(reference_frames(8, [2, 5]), [2, 2, 2, 2, 2, 5, 5, 5])
    assert beat_windows(20, [0, 10], [4, 14]) == [(0, 7), (10, 17)]
    assert beat_windows(20, [0, 10]) == [(0, 10), (10, 20)]
    assert beat_windows(13, [0, 10]) == [(0, 10)]  # 3 frames of a last beat are not a beat
    curve = np.array([0, -10, -20, -5, 0, -12, -18, -3.0])
    assert peak_systolic_pct(curve, [(0, 4), (4, 8)]) == pytest.approx(-19.0)
    assert peak_systolic_pct(curve, []) is None


def test_a_clip_of_one_cycle_without_its_first_ed_is_scored_on_its_filling_phase():
    """ES, then the ED that ends its filling, and no ES after any ED (the first ED missed at the clip's start): the
    window is ES -> ED, where the strain is the ES's against that ED, not the two frames after the ED (GLS 0)."""
    from app.analysis.strain import beat_windows

    assert beat_windows(48, [46], [18]) == [(15, 47)]
    assert beat_windows(48, [0, 46], [18]) == [(0, 21)]  # a systole after an ED: as before
    assert beat_windows(60, [30], [5, 50]) == [(30, 53)]
    scales = np.concatenate([1.0 - 0.2 * np.sin(np.linspace(0, np.pi / 2, 19)),  # shortens to 20 % at frame 18
                             1.0 - 0.2 * np.cos(np.linspace(0, np.pi / 2, 28)), [1.0]])  # refills to ED 46
    tracks = _scaled_tracks(scales)
    res = strain_from_tracks(tracks, (0.4, 0.4), [46], np.zeros(tracks.shape[:2]), es_frames=[18], view="a4c")
    assert res.gls_pct == pytest.approx(-20.0, abs=0.01)
