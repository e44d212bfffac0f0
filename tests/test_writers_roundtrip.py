"""Phantom recordings written as DICOM / NIfTI / AVI read back through the readers unchanged."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.data.phantom import EchoPhantomParams, MriPhantomParams, load_truth, make_echo, make_mri, save_truth
from app.data.readers import load_recording
from app.data.writers import write_recording


@pytest.fixture(scope="module")
def echo():
    return make_echo(EchoPhantomParams(view="a2c", beats=1, frame_rate_hz=30.0, image_shape_px=(120, 136)), seed=1)


@pytest.fixture(scope="module")
def mri():
    return make_mri(MriPhantomParams(n_phases=10, n_slices=4, image_px=128, pixel_mm=1.5), seed=1)


def _same_inside_sector(a: np.ndarray, b: np.ndarray, sector: np.ndarray) -> None:
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(sector, iterations=2)
    np.testing.assert_array_equal(a[:, inner], b[:, inner])


@pytest.mark.parametrize("compression", ["none", "rle", "jpeg2000"])
def test_echo_dicom_round_trip(tmp_path, echo, compression):
    rec = echo.recording
    path = write_recording(rec, tmp_path / "a2c.dcm", compression=compression)
    back = load_recording(path)
    assert back.modality == "echo" and back.view == "a2c" and back.calibrated
    assert back.frames.shape == rec.frames.shape and back.frames.dtype == np.uint8
    np.testing.assert_allclose(back.spacing_mm, rec.spacing_mm, rtol=1e-9)
    np.testing.assert_allclose(back.frame_times_s, rec.frame_times_s, rtol=1e-9, atol=1e-9)
    assert back.heart_rate_bpm == pytest.approx(70.0)
    _same_inside_sector(back.frames, rec.frames, rec.sector_mask)


def test_echo_dicom_header(tmp_path, echo):
    path = write_recording(echo.recording, tmp_path / "clip.dcm")
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.3.1" and ds.Modality == "US"
    assert int(ds.NumberOfFrames) == echo.recording.n_frames
    assert float(ds.FrameTime) == pytest.approx(1000.0 / 30.0)
    assert ds.FrameIncrementPointer == pydicom.tag.Tag("FrameTime")
    region = ds.SequenceOfUltrasoundRegions[0]
    assert region.RegionSpatialFormat == 1 and region.PhysicalUnitsXDirection == 3
    assert region.PhysicalDeltaX * 10.0 == pytest.approx(echo.recording.spacing_mm[1])


def test_echo_nifti_and_avi_round_trip(tmp_path, echo):
    rec = echo.recording
    back = load_recording(write_recording(rec, tmp_path / "a2c_clip.nii.gz"))
    assert back.modality == "echo" and back.frames.shape == rec.frames.shape
    np.testing.assert_allclose(back.spacing_mm, rec.spacing_mm, rtol=1e-6)
    np.testing.assert_allclose(back.frame_times_s, rec.frame_times_s, rtol=1e-6, atol=1e-7)
    _same_inside_sector(back.frames, rec.frames, rec.sector_mask)
    video = load_recording(write_recording(rec, tmp_path / "clip.avi"))
    assert video.frames.shape == rec.frames.shape and not video.calibrated  # AVI carries no spacing
    np.testing.assert_allclose(video.frame_times_s, rec.frame_times_s, rtol=1e-6, atol=1e-7)
    inner = rec.sector_mask
    assert np.mean(np.abs(video.frames[:, inner].astype(int) - rec.frames[:, inner])) < 1.0


def test_mr_series_round_trip(tmp_path, mri):
    rec = mri.recording
    folder = write_recording(rec, tmp_path / "sax", slice_thickness_mm=8.0)
    files = sorted(folder.glob("*.dcm"))
    assert len(files) == 4 * 10
    ds = pydicom.dcmread(files[0])
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
                    "TriggerTime", "SeriesInstanceUID"):
        assert keyword in ds
    assert len({pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID for f in files}) == 1
    back = load_recording(folder)
    assert back.modality == "mri" and back.view == "sax" and back.frames.shape == rec.frames.shape
    np.testing.assert_array_equal(back.frames, rec.frames)  # slice order base -> apex preserved
    assert back.slice_spacing_mm == pytest.approx(10.0)
    np.testing.assert_allclose(back.spacing_mm, rec.spacing_mm)
    np.testing.assert_allclose(back.frame_times_s, rec.frame_times_s, atol=1e-6)


def test_mr_nifti_round_trip(tmp_path, mri):
    rec = mri.recording
    back = load_recording(write_recording(rec, tmp_path / "sax.nii.gz"))
    assert back.modality == "mri" and back.frames.shape == rec.frames.shape
    np.testing.assert_array_equal(back.frames, rec.frames)
    np.testing.assert_allclose(back.spacing_mm, rec.spacing_mm, rtol=1e-6)
    assert back.slice_spacing_mm == pytest.approx(10.0)
    np.testing.assert_allclose(back.frame_times_s, rec.frame_times_s, rtol=1e-6, atol=1e-6)


def test_truth_sidecar_round_trip(tmp_path, echo, mri):
    for case, name in ((echo, "clip.dcm"), (mri, "sax")):
        npz, js = save_truth(case.truth, tmp_path / name)
        assert npz.name.endswith(".truth.npz") and js.name.endswith(".truth.json")
        back = load_truth(tmp_path / name)
        t = case.truth
        assert back.ed_frames == t.ed_frames and back.es_frames == t.es_frames
        assert back.segment_names == t.segment_names and back.spacing_mm == t.spacing_mm
        np.testing.assert_array_equal(back.labels, t.labels)
        np.testing.assert_array_equal(back.displacement_px, t.displacement_px)
        np.testing.assert_allclose(back.gls_pct, t.gls_pct)
        assert back.ef_pct == pytest.approx(t.ef_pct)
    with pytest.raises(FileNotFoundError):
        load_truth(tmp_path / "missing.dcm")
