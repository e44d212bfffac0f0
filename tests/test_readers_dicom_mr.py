"""DICOM MR: Sunnybrook cine folders, synthetic single-frame series, Enhanced MR, compressed MR files."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from readers_helpers import write_enhanced_mr, write_mr_series

from app.data.readers import LoadError, list_series, load_recording

# What the Sunnybrook files really say (the data README rounds to 1.37 mm and 10 mm slices):
SUNNYBROOK = {
    "SCD0000301": dict(slices=10, spacing=1.2891, hr=65.0, last_trigger_ms=886.0),
    "SCD0000401": dict(slices=11, spacing=1.3672, hr=59.0, last_trigger_ms=976.0),
    "SCD0000501": dict(slices=11, spacing=1.3672, hr=88.0, last_trigger_ms=657.0),
}


@pytest.mark.shared
@pytest.mark.parametrize("case", sorted(SUNNYBROOK))
def test_sunnybrook_folder_is_a_base_to_apex_stack(shared_data, case):
    facts = SUNNYBROOK[case]
    folder = shared_data / "sunnybrook" / "dicoms" / case
    rec = load_recording(folder)
    assert rec.modality == "mri" and rec.view == "sax" and rec.calibrated
    assert rec.frames.shape == (facts["slices"], 20, 256, 256)
    assert rec.spacing_mm == pytest.approx((facts["spacing"], facts["spacing"]))
    assert rec.slice_spacing_mm == pytest.approx(8.0, abs=0.01)
    assert rec.heart_rate_bpm == facts["hr"]
    # trigger times 10 ms .. last, relative to the first phase
    assert rec.frame_times_s[0] == 0.0
    assert rec.frame_times_s[-1] == pytest.approx((facts["last_trigger_ms"] - 10.0) / 1000.0)
    assert np.all(np.diff(rec.frame_times_s) > 0)
    # instance numbers run base -> apex in these files: slice 0 = files 1..20 ordered by trigger time
    import pydicom

    first = pydicom.dcmread(folder / "1.dcm").pixel_array
    second_slice_first_phase = pydicom.dcmread(folder / "21.dcm").pixel_array
    assert np.array_equal(rec.frames[0, 0], first)
    assert np.array_equal(rec.frames[1, 0], second_slice_first_phase)
    listed = list_series(folder)
    assert (
        len(listed) == 1 and listed[0].shape == rec.frames.shape and len(listed[0].paths) == rec.frames[:, :, 0, 0].size
    )


@pytest.mark.shared
def test_single_sunnybrook_file_is_one_frame(shared_data):
    rec = load_recording(shared_data / "sunnybrook" / "dicoms" / "SCD0000301" / "5.dcm")
    assert rec.frames.shape == (1, 256, 256) and rec.modality == "mri"


@pytest.mark.shared
def test_emri_small_enhanced_mr_without_frame_groups(shared_data):
    rec = load_recording(shared_data / "dicom_samples" / "emri_small.dcm")
    # 3D acquisition, no functional groups, no PixelSpacing: 10 slices of one phase, uncalibrated
    assert rec.modality == "mri" and rec.frames.shape == (10, 1, 64, 64)
    assert rec.frames.dtype == np.uint16 and rec.frames.max() == 467
    assert rec.slice_spacing_mm == pytest.approx(1.2)
    assert not rec.calibrated and rec.view == "unknown"


def test_synthetic_series_sorted_base_to_apex(tmp_path):
    folder, expected = write_mr_series(tmp_path / "cine", n_slices=4, n_phases=5, spacing_mm=1.5, gap_mm=8.0)
    rec = load_recording(folder)
    assert rec.frames.shape == (4, 5, 32, 40)
    assert np.array_equal(rec.frames, expected)
    assert rec.slice_spacing_mm == pytest.approx(8.0)
    assert rec.spacing_mm == (1.5, 1.5) and rec.calibrated
    assert rec.frame_times_s == pytest.approx(np.arange(5) * 0.040)
    assert rec.frame_rate_hz == pytest.approx(25.0)
    assert rec.heart_rate_bpm == 60 and rec.series_description == "cine test"


def test_missing_phase_is_reported(tmp_path):
    folder, _ = write_mr_series(tmp_path / "gap", n_slices=3, n_phases=4, skip={(1, 2)})
    with pytest.raises(LoadError, match="different numbers of phases.*slice 2 .*: 3"):
        load_recording(folder)


def test_duplicate_trigger_times_are_reported(tmp_path):
    import pydicom

    folder, _ = write_mr_series(tmp_path / "dup", n_slices=2, n_phases=3)
    files = sorted(folder.glob("*.dcm"))
    a, b = (pydicom.dcmread(f) for f in files[:2])
    b.ImagePositionPatient, b.TriggerTime = a.ImagePositionPatient, a.TriggerTime
    b.save_as(files[1])
    with pytest.raises(LoadError, match="same trigger time|different numbers of phases"):
        load_recording(folder)


def test_enhanced_mr_with_functional_groups(tmp_path):
    path = tmp_path / "enhanced.dcm"
    expected = write_enhanced_mr(path, n_slices=3, n_phases=4, spacing_mm=1.25, gap_mm=6.0)
    rec = load_recording(path)
    assert rec.frames.shape == (3, 4, 24, 20)
    assert np.array_equal(rec.frames, expected)
    assert rec.spacing_mm == (1.25, 1.25) and rec.calibrated
    assert rec.slice_spacing_mm == pytest.approx(6.0)
    assert rec.frame_times_s == pytest.approx([0.0, 0.05, 0.10, 0.15])
    assert rec.view == "sax"


@pytest.mark.parametrize("name", ["MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_RLE.dcm", "MR_small_bigendian.dcm"])
def test_compressed_and_big_endian_mr_decode_identically(name):
    reference_path = get_testdata_file("MR_small.dcm", download=False)
    path = get_testdata_file(name, download=False)
    if reference_path is None or path is None:
        pytest.skip("pydicom test files are not installed")
    reference = load_recording(reference_path)
    rec = load_recording(path)
    assert rec.frames.shape == (1, 64, 64)
    assert np.array_equal(rec.frames, reference.frames)
    assert rec.spacing_mm == reference.spacing_mm == (0.3125, 0.3125)


def test_enhanced_mr_listing_matches_the_loaded_shape(tmp_path):
    path = tmp_path / "enhanced.dcm"
    write_enhanced_mr(path, n_slices=3, n_phases=4)
    (info,) = list_series(path)
    assert info.shape == (3, 4, 24, 20) == load_recording(path).frames.shape and info.n_frames == 4


def test_mixed_orientations_are_reported(tmp_path):
    import pydicom

    folder, _ = write_mr_series(tmp_path / "mixed", n_slices=2, n_phases=2)
    victim = sorted(folder.glob("*.dcm"))[0]
    ds = pydicom.dcmread(victim)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]  # a coronal image in an axial stack
    ds.save_as(victim)
    with pytest.raises(LoadError, match="mixes image orientations"):
        load_recording(folder)


def test_a_series_whose_slices_cannot_be_told_apart_or_holding_an_image_twice_says_which(tmp_path):
    """Both had read "mixed acquisitions in one series; pick one series", with only one series to pick."""
    import shutil

    import pydicom

    folder, _ = write_mr_series(tmp_path / "copied", n_slices=2, n_phases=3)
    first = sorted(folder.glob("*.dcm"))[0]
    shutil.copy(first, folder / "copy_of_one.dcm")
    with pytest.raises(LoadError, match="the same image twice"):
        load_recording(folder)
    folder, _ = write_mr_series(tmp_path / "unplaced", n_slices=2, n_phases=3)
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient
        ds.save_as(path)
    with pytest.raises(LoadError, match="no usable position or orientation"):
        load_recording(folder)
