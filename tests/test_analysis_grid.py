"""The analysis grid: contours traced on a coarser grid land where the recording-grid contours are; the echo
segmenter gives its labels on that grid; strain with its motion on the 0.6 mm strain grid still matches the
phantom's truth."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.analysis_grid import GridGeometry, contours_to_recording
from app.analysis.contours import extract_contours, polygon_area_px2


def test_grid_geometry_sizes_and_round_trip():
    geometry = GridGeometry.for_box((6, 454, 4, 483), 128)
    assert geometry.shape == (299, 320)  # longer side 2.5 x 128, aspect kept
    assert GridGeometry.for_box((0, 50, 0, 40), 32).shape == (50, 40)  # never finer than the recording
    points = np.array([[0.0, 0.0], [319.0, 298.0], [17.3, 101.9]])
    np.testing.assert_allclose(geometry.to_grid_px(geometry.to_recording_px(points)), points, atol=1e-9)
    sx, sy = geometry.scale_xy
    # grid pixel centres sit where cv2.resize puts them: pixel 0 at (scale - 1) / 2 from the box corner
    np.testing.assert_allclose(geometry.to_recording_px(np.zeros((1, 2)))[0], [4 + (sx - 1) / 2, 6 + (sy - 1) / 2])
    rows, cols = geometry.nearest_box_pixels()
    assert rows.shape == (299,) and cols.shape == (320,) and rows.max() < 448 and cols.max() < 479


def _apical_labels(x_px: np.ndarray, y_px: np.ndarray) -> np.ndarray:
    """A4C-like labels evaluated at pixel centres (x, y) of the recording: cavity, myocardial horseshoe, LA."""
    cav = ((x_px - 200) / 60.0) ** 2 + ((y_px - 190) / 110.0) ** 2
    body = ((x_px - 200) / 78.0) ** 2 + ((y_px - 190) / 128.0) ** 2
    la = ((x_px - 200) / 55.0) ** 2 + ((y_px - 345) / 45.0) ** 2
    labels = np.zeros(x_px.shape, np.uint8)
    labels[(body <= 1) & (y_px < 270)] = 2
    labels[la <= 1] = 3
    labels[(cav <= 1) & (y_px < 290)] = 1
    return labels


def test_contours_traced_on_the_grid_match_the_recording_grid():
    h, w = 420, 400
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    full = extract_contours(_apical_labels(x, y))
    geometry = GridGeometry((0, h, 0, w), (200, 190))  # half the recording's pixels along each side
    gy, gx = np.mgrid[0:geometry.shape[0], 0:geometry.shape[1]].astype(np.float64)
    at = geometry.to_recording_px(np.stack([gx, gy], -1))
    coarse = contours_to_recording(extract_contours(_apical_labels(at[..., 0], at[..., 1])), geometry)
    assert coarse.kind == "long-axis" and coarse.epi_px is not None and coarse.la_px is not None
    area_full, area_coarse = polygon_area_px2(full.endo_px), polygon_area_px2(coarse.endo_px)
    assert abs(area_coarse - area_full) / area_full < 0.01
    # no shift from the grid mapping (half a grid pixel would be 1 px): the LA outline centre within 0.5 px
    np.testing.assert_allclose(coarse.la_px.mean(0), full.la_px.mean(0), atol=0.5)
    np.testing.assert_allclose(coarse.apex_px, full.apex_px, atol=2.5)
    np.testing.assert_allclose(coarse.annulus_px, full.annulus_px, atol=2.5)
    assert abs(polygon_area_px2(coarse.la_px) - polygon_area_px2(full.la_px)) / polygon_area_px2(full.la_px) < 0.02


def test_echo_segmenter_gives_its_labels_on_the_analysis_grid(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from app.data.recording import Recording, uniform_frame_times
    from app.ml import inference
    from app.ml.nets.unet import UNet
    from app.ml.weights import save_model
    from tests.model_cards import card

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path))
    inference.clear_model_cache()
    torch.manual_seed(0)
    save_model(UNet((4, 8, 8)), "echo_seg_base", card("UNet", {"channels": [4, 8, 8]}, input_size_px=32, channels=2),
               root=tmp_path)
    try:
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:150, 0:170]
        frames = np.clip(np.exp(-((x - 85) ** 2 + (y - 70) ** 2) / 900.0)[None] * 200
                         + rng.random((3, 150, 170)) * 40, 0, 255).astype(np.uint8)
        sector = np.zeros((150, 170), bool)
        sector[5:145, 5:165] = True
        rec = Recording(frames=frames, spacing_mm=(0.3, 0.3), frame_times_s=uniform_frame_times(3, 30.0),
                        modality="echo", view="a4c", sector_mask=sector)
        result = inference.run_to_result(inference.segment_recording(rec, "base", device=torch.device("cpu")))
        geometry = result.grid_geometry
        assert geometry.box == (5, 145, 5, 165) and geometry.shape == (70, 80)
        assert result.grid_labels.shape == (3, 70, 80) and result.grid_labels.dtype == np.uint8
        rows, cols = geometry.nearest_box_pixels()
        sampled = result.labels[:, 5:145, 5:165][:, rows][:, :, cols]
        assert np.mean(sampled == result.grid_labels) > 0.95  # the same probabilities, sampled coarser
        kept = inference.run_to_result(inference.segment_recording(rec, "base", keep_probabilities=True,
                                                                   device=torch.device("cpu")))
        assert kept.grid_labels is None  # probabilities kept: contours traced on the recording's grid
        np.testing.assert_array_equal(kept.labels, result.labels)
    finally:
        inference.clear_model_cache()


def test_strain_with_motion_on_the_strain_grid_matches_a_fine_phantoms_truth():
    from app.analysis.strain import beat_windows, peak_systolic_pct
    from app.data import phantom
    from app.workflow.strain_pipeline import run_strain, strain_grid

    params = phantom.EchoPhantomParams(heart=phantom.HeartParams(), view="a4c", beats=1, quality="good",
                                       frame_rate_hz=40.0, image_shape_px=(384, 384), depth_mm=140.0)
    case = phantom.make_echo(params, seed=0)
    rec, truth = case.recording, case.truth
    grid = strain_grid((slice(0, 384), slice(0, 384)), rec.spacing_mm)
    assert grid.shape[0] < 384 * 0.8  # 0.45 mm pixels: the flow and its mask are on a coarser grid
    res = run_strain(rec, truth.labels, truth.ed_frames, es_frames=truth.es_frames)
    truth_gls = float(peak_systolic_pct(truth.gls_pct, beat_windows(rec.n_frames, truth.ed_frames, truth.es_frames)))
    assert abs(res.gls_pct - truth_gls) <= 0.5  # measured -0.19 (flow resized back to the recording's grid: -0.18)
    assert res.centerline_px.shape == (rec.n_frames, 120, 2)
    assert np.nanmax(res.centerline_px[..., 1]) < 384 and np.nanmin(res.centerline_px) > 0  # recording pixels
