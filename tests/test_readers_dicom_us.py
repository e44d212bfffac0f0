"""DICOM ultrasound reader: real sample files, pydicom's compressed samples, synthetic files with known facts."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from readers_helpers import echo_frames, write_us

from app.data.readers import LoadError, load_recording

SAMPLES = "dicom_samples"


def _sample(shared_data, name):
    return shared_data / SAMPLES / name


def _pydicom_file(name):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    return path


@pytest.mark.shared
def test_rle_palette_multiframe_spacing_from_us_region(shared_data):
    rec = load_recording(_sample(shared_data, "OBXXXX1A_rle_2frame.dcm"))
    assert rec.modality == "echo" and rec.frames.shape == (2, 600, 800)
    assert rec.frames.dtype == np.uint8
    # region 1: RegionSpatialFormat 1, PhysicalDeltaX/Y 0.02622878766196998 cm
    assert rec.spacing_mm == pytest.approx((0.2622878766, 0.2622878766), rel=1e-6)
    assert rec.calibrated
    assert rec.frame_times_nominal  # the file has no FrameTime / CineRate
    mask = rec.sector_mask
    assert mask is not None and mask.shape == (600, 800)
    assert 0.25 < mask.mean() < 0.6
    assert not mask[:60].any() and not mask[519:].any() and not mask[:, :120].any()  # inside the region box
    assert mask[300, 460] and mask[150, 460]  # centre of the fan
    assert not rec.frames[:, ~mask].any()  # outside zeroed
    assert rec.patient.manufacturer == "Philips Medical Systems"


@pytest.mark.shared
def test_aloka_16bit_palette_picks_a_tissue_region(shared_data):
    rec = load_recording(_sample(shared_data, "gdcm-US-ALOKA-16.dcm"))
    assert rec.frames.shape == (1, 480, 640) and rec.frames.dtype == np.uint8
    assert rec.spacing_mm == pytest.approx((0.3826530650, 0.3826530650), rel=1e-6)
    rows, cols = np.nonzero(rec.sector_mask)
    assert rows.min() >= 24 and rows.max() <= 415
    assert (cols.min() >= 32 and cols.max() <= 335) or (cols.min() >= 336 and cols.max() <= 639)
    assert rec.sector_mask.sum() > 0.5 * 304 * 392


@pytest.mark.shared
@pytest.mark.parametrize("name, shape", [("US1_UNCR.dcm", (1, 480, 640)), ("color-pl.dcm", (1, 120, 256))])
def test_rgb_stills_are_grey_and_uncalibrated(shared_data, name, shape):
    rec = load_recording(_sample(shared_data, name))
    assert rec.frames.shape == shape and rec.frames.dtype == np.uint8
    assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
    assert rec.n_frames == 1 and rec.frame_rate_hz is None
    assert rec.sector_mask is not None and rec.frames.max() > 100


@pytest.mark.shared
def test_rgb_to_grey_uses_luma(shared_data):
    import pydicom

    ds = pydicom.dcmread(_sample(shared_data, "US1_UNCR.dcm"))
    rgb = ds.pixel_array.astype(np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    rec = load_recording(_sample(shared_data, "US1_UNCR.dcm"))
    inside = rec.sector_mask
    assert np.abs(rec.frames[0][inside] - luma[inside]).max() <= 1.0


def test_jpeg_baseline_ybr422_multiframe_us():
    rec = load_recording(_pydicom_file("examples_ybr_color.dcm"))
    assert rec.modality == "echo" and rec.frames.shape == (30, 240, 320)
    assert rec.frames.dtype == np.uint8 and rec.frames.max() > 50


def test_palette_us_and_rle_secondary_capture():
    rec = load_recording(_pydicom_file("examples_palette.dcm"))
    assert rec.frames.shape == (1, 350, 800) and rec.frames.dtype == np.uint8
    rle = load_recording(_pydicom_file("SC_rgb_rle_2frame.dcm"))
    assert rle.frames.shape == (2, 100, 100)


def test_synthetic_us_facts(tmp_path):
    frames, sector = echo_frames(n_frames=8)
    path = write_us(tmp_path / "clip", frames, region_box=(5, 5, 114, 154), delta_cm=0.03, frame_time_ms=20.0,
                    heart_rate=72, description="Apical 4 chamber")
    rec = load_recording(path)
    assert rec.spacing_mm == pytest.approx((0.3, 0.3))
    assert rec.frame_rate_hz == pytest.approx(50.0)
    assert rec.frame_times_s[-1] == pytest.approx(7 * 0.020)
    assert not rec.frame_times_nominal
    assert rec.heart_rate_bpm == 72 and rec.view == "a4c"
    mask = rec.sector_mask
    overlap = (mask & sector).sum() / sector.sum()
    assert overlap > 0.9 and (mask & ~sector).sum() < 0.1 * sector.sum()
    assert not mask[2:8, 2:40].any()  # static text excluded
    assert not rec.frames[:, 2:8, 2:40].any()  # and blanked


def test_view_code_sequence_and_pixel_spacing_fallback(tmp_path):
    frames, _ = echo_frames(n_frames=3)
    path = write_us(tmp_path / "v.dcm", frames, view_meaning="Apical two chamber")
    rec = load_recording(path)
    assert rec.view == "a2c" and not rec.calibrated and rec.frame_times_nominal
    import pydicom

    ds = pydicom.dcmread(path)
    ds.PixelSpacing = [0.25, 0.5]
    ds.CineRate = 25
    ds.save_as(path)
    rec = load_recording(path)
    assert rec.calibrated and rec.spacing_mm == (0.25, 0.5)
    assert rec.frame_rate_hz == pytest.approx(25.0) and not rec.frame_times_nominal


def test_frame_time_vector(tmp_path):
    import pydicom

    frames, _ = echo_frames(n_frames=4)
    path = write_us(tmp_path / "ftv.dcm", frames)
    ds = pydicom.dcmread(path)
    ds.FrameTimeVector = [0, 30, 40, 30]
    ds.save_as(path)
    rec = load_recording(path)
    assert rec.frame_times_s == pytest.approx([0.0, 0.030, 0.070, 0.100])


def test_undecodable_jpeg_is_a_load_error(tmp_path):
    import pydicom

    ds = pydicom.dcmread(_pydicom_file("JPEG-lossy.dcm"))  # 12-bit JPEG extended: only GDCM decodes it
    ds.Modality = "US"
    ds.save_as(tmp_path / "lossy_us_ok.dcm")
    assert load_recording(tmp_path / "lossy_us_ok.dcm").frames.shape == (1, 1024, 256)
    stream = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = pydicom.encaps.encapsulate([stream[:200] + b"\xff\xd9"])  # cut short: no decoder can
    path = tmp_path / "lossy_us.dcm"
    ds.save_as(path)
    with pytest.raises(LoadError, match="lossy_us.dcm: the pixel data could not be decoded"):
        load_recording(path)


def test_other_modalities_and_non_images_are_refused():
    with pytest.raises(LoadError, match="unsupported DICOM image \\(modality NM\\)"):
        load_recording(_pydicom_file("JPEG-lossy.dcm"))
    with pytest.raises(LoadError, match="structured report"):
        load_recording(_pydicom_file("test-SR.dcm"))
    with pytest.raises(LoadError, match="no pixel data"):
        load_recording(_pydicom_file("waveform_ecg.dcm"))


@pytest.mark.parametrize("name", ["SC_ybr_full_422_uncompressed.dcm", "SC_rgb_jpeg_gdcm.dcm",
                                  "SC_rgb_jpeg_dcmtk.dcm", "examples_jpeg2k.dcm", "SC_rgb_rle.dcm"])
def test_colour_models_and_codecs_give_luma(name):
    """YBR_FULL_422, JPEG lossless/baseline, JPEG 2000 and RLE colour files -> grey = BT.601 luma."""
    import pydicom

    path = _pydicom_file(name)
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64)  # pydicom converts YBR to RGB
    luma = rgb.reshape(-1, *rgb.shape[-3:]) @ np.array([0.299, 0.587, 0.114])
    rec = load_recording(path)
    assert rec.frames.shape == luma.shape and rec.frames.dtype == np.uint8
    inside = rec.sector_mask
    assert np.abs(rec.frames[:, inside] - luma[:, inside]).max() <= 1.0


def test_region_that_does_not_fit_the_image_is_ignored():
    """examples_ybr_color.dcm is 320x240 but its US region says x 84..595, y 31..414 (written for the
    original 640x480 frames): its box and 0.051 cm pixel size are not trusted."""
    rec = load_recording(_pydicom_file("examples_ybr_color.dcm"))
    assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
    rows, cols = np.nonzero(rec.sector_mask)
    assert cols.min() < 70 and cols.max() > 280  # the whole fan, not cut at the stale box edge x=84
    assert 0.3 < rec.sector_mask.mean() < 0.6


def test_an_impossible_frame_time_gives_way_to_the_files_cine_rate(tmp_path):
    """A FrameTime of 1e7 ms was taken (and then read as "0 frames a second", unknown) although the file's
    CineRate said 50; alone, it is unknown timing, its rate said as it is."""
    import pydicom

    frames, _ = echo_frames(n_frames=8)
    path = write_us(tmp_path / "clip.dcm", frames, region_box=(5, 5, 114, 154), delta_cm=0.03, frame_time_ms=1e7)
    alone = load_recording(path)
    assert alone.frame_times_nominal
    assert any("(0.0001 frames a second) is not plausible" in n for n in alone.reader_notes)
    ds = pydicom.dcmread(path)
    ds.CineRate = 50
    ds.save_as(path)
    with_rate = load_recording(path)
    assert with_rate.frame_rate_hz == pytest.approx(50.0) and not with_rate.frame_times_nominal
    assert not with_rate.reader_notes


def test_an_ultrasound_file_mislabelled_monochrome1_is_read_as_stored_and_says_so(tmp_path):
    """A clip exported with MONOCHROME1 (0 = white) on pixels stored 0 = black was read with its grey upside down:
    a white background and a bright cavity, EF 79.5 against 58.8 on a phantom, most frames flagged. Its pixels are
    read as stored, with a note; a file whose pixels really are stored 0 = white is still flipped, without one."""
    frames, _ = echo_frames(n_frames=6)
    assert frames.min() == 0 and frames.max() == 255
    as_stored = load_recording(write_us(tmp_path / "plain.dcm", frames))

    def labelled_monochrome1(name, pixels):
        path = write_us(tmp_path / name, pixels)
        ds = pydicom.dcmread(path)
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.save_as(path)
        return load_recording(path)

    mislabelled = labelled_monochrome1("mislabelled.dcm", frames)
    np.testing.assert_array_equal(mislabelled.frames, as_stored.frames)
    assert [n for n in mislabelled.reader_notes if "MONOCHROME1" in n]
    really = labelled_monochrome1("white_is_zero.dcm", (255 - frames).astype(np.uint8))
    np.testing.assert_array_equal(really.frames, as_stored.frames)
    assert not [n for n in really.reader_notes if "MONOCHROME1" in n]
