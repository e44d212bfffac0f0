"""Bad input: every malformed file ends in one clear LoadError naming the file, never another exception."""

from __future__ import annotations

import gzip
import shutil
import time

import numpy as np
import pydicom
import pytest
from readers_helpers import echo_frames, write_mr_series, write_us

from app.data.readers import LoadError, list_series, load_recording
from app.data.recording import Recording

OB_FILE = ("dicom_samples", "OBXXXX1A_rle_2frame.dcm")


def _assert_load_error(path, match: str | None = None) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_recording(path)
    err = info.value
    assert str(path) in str(err) and "\n" not in str(err)
    if match:
        assert match.lower() in str(err).lower(), str(err)
    return err


@pytest.fixture()
def us_file(tmp_path):
    frames, _ = echo_frames(n_frames=4)
    return write_us(tmp_path / "clip.dcm", frames, frame_time_ms=25.0)


@pytest.mark.shared
@pytest.mark.parametrize("length", [10, 100, 131, 132, 140, 400, 1500, 20000, 60000, 91700])
def test_truncated_real_dicom(shared_data, tmp_path, length):
    source = shared_data.joinpath(*OB_FILE)
    data = source.read_bytes()
    assert length < len(data)
    path = tmp_path / f"cut_{length}.dcm"
    path.write_bytes(data[:length])
    _assert_load_error(path)


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.98])
def test_a_dicom_clip_cut_inside_its_image_data_says_the_file_ends_early(tmp_path, capsys, fraction):
    """pydicom gives up the whole dataset at the cut (encapsulated frames): the user hears of a cut file, not
    of a file that is not DICOM."""
    from pathlib import Path

    from app.cli import main

    data = (Path(__file__).resolve().parents[1] / "resources/demo/a4c.dcm").read_bytes()
    path = tmp_path / "a4c_cut.dcm"
    path.write_bytes(data[: int(fraction * len(data))])
    _assert_load_error(path, "the file ends early: its image data is cut short")
    assert main(["analyze", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {path}: the file ends early: its image data is cut short "
                                               "(an interrupted copy or transfer?)")


@pytest.mark.shared
def test_truncated_mr_file(shared_data, tmp_path):
    data = (shared_data / "sunnybrook" / "dicoms" / "SCD0000301" / "1.dcm").read_bytes()
    path = tmp_path / "mr_cut.dcm"
    path.write_bytes(data[: len(data) - 5000])
    err = _assert_load_error(path, "the pixel data is shorter than the header describes: ")
    assert "bytes (a file cut short by an interrupted copy or transfer, or a wrong image size in the header)" in str(
        err
    )


def test_random_bytes_with_dicm_preamble(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.dcm"
    path.write_bytes(bytes(128) + b"DICM" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _assert_load_error(path)


def test_empty_text_pdf_and_unknown_binary(tmp_path):
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    _assert_load_error(empty, "empty")
    text = tmp_path / "notes.dcm"
    text.write_text("patient notes, not an image\n" * 20)
    _assert_load_error(text, "plain text")
    pdf = tmp_path / "report.nii"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(200))
    _assert_load_error(pdf, "PDF")
    binary = tmp_path / "blob.avi"
    binary.write_bytes(bytes([0xFE, 0x01, 0x77, 0x99]) * 300)
    _assert_load_error(binary, "unrecognised")
    _assert_load_error(tmp_path / "does_not_exist.dcm", "no such file")


def test_dicom_without_pixel_data(tmp_path, us_file):
    """An image's header without its pixels is a cut copy (it had read 'no pixel data (no image in it)')."""
    ds = pydicom.dcmread(us_file)
    del ds.PixelData
    ds.save_as(us_file)
    _assert_load_error(us_file, "ends before its image data: an image header (rows, columns) but no pixels")
    del ds.Rows, ds.Columns
    ds.save_as(us_file)
    _assert_load_error(us_file, "no pixel data (no image in it)")


def test_an_empty_pixel_data_element_says_so(tmp_path, us_file):
    """It read 'the pixel data could not be decoded (object of type 'NoneType' has no len())'."""
    ds = pydicom.dcmread(us_file)
    ds.PixelData = b""
    ds.save_as(us_file)
    _assert_load_error(us_file, "the pixel data element is empty: no image in the file")


def test_header_claiming_a_huge_image_is_refused_before_decoding(tmp_path, us_file):
    """A header whose size fields claim far more than the file holds is a broken file (said so from the pixel
    data's stored length, not read), not a recording too large for this machine's memory."""
    ds = pydicom.dcmread(us_file)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 50000
    ds.save_as(us_file)
    start = time.perf_counter()
    _assert_load_error(us_file, "the pixel data is shorter than the header describes")
    assert time.perf_counter() - start < 5.0


def test_compressed_frames_claimed_beyond_the_file_are_a_broken_file(tmp_path, us_file):
    from pydicom.uid import RLELossless

    ds = pydicom.dcmread(us_file)
    ds.compress(RLELossless)
    ds.NumberOfFrames = 10_000_000
    path = tmp_path / "rle.dcm"
    ds.save_as(path)
    _assert_load_error(path, "the pixel data holds fewer frames than the header's 10000000")


def test_memory_limit_from_environment(monkeypatch, us_file):
    monkeypatch.setenv("CARDIOTRACE_MAX_LOAD_MB", "0.01")
    _assert_load_error(us_file, "limit")
    monkeypatch.delenv("CARDIOTRACE_MAX_LOAD_MB")
    assert load_recording(us_file).n_frames == 4


def test_zero_frames_and_short_pixel_data(tmp_path, us_file):
    ds = pydicom.dcmread(us_file)
    ds.NumberOfFrames = 0
    ds.save_as(us_file)
    _assert_load_error(us_file, "zero frames")
    ds.NumberOfFrames = 9  # header says 9 frames, the data holds 4
    ds.save_as(us_file)
    _assert_load_error(us_file, "pixel data")


def test_huge_nifti_header_is_refused(tmp_path):
    import SimpleITK as sitk

    path = tmp_path / "big.nii"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 8, 8), np.uint8)), str(path))
    data = bytearray(path.read_bytes())
    dims = np.array([3, 30000, 30000, 3000, 1, 1, 1, 1], dtype="<i2")
    data[40:56] = dims.tobytes()
    path.write_bytes(bytes(data))
    _assert_load_error(path, "the file is truncated")  # a plain file's size says it is broken, not too large
    gz = tmp_path / "big.nii.gz"
    gz.write_bytes(gzip.compress(bytes(data)))
    # 2.7 GB from a gzip file of a few hundred bytes: more than deflate can expand to, so not "too large for memory"
    _assert_load_error(gz, "more than a gzip file of")
    dims[1:4] = (3, 100, 100)  # 30 kB: within what it could hold; decompressed, it is short
    data[40:56] = dims.tobytes()
    gz.write_bytes(gzip.compress(bytes(data)))
    _assert_load_error(gz, "the file is truncated")


def test_corrupt_gzip_nifti_and_fake_video(tmp_path):
    import SimpleITK as sitk

    path = tmp_path / "clip.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.random.default_rng(1).integers(0, 255, (6, 40, 40), dtype=np.uint8)),
                    str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_load_error(path)
    fake = tmp_path / "movie.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    _assert_load_error(fake)


def test_inconsistent_image_sizes_in_a_series(tmp_path):
    folder, _ = write_mr_series(tmp_path / "mixed", n_slices=2, n_phases=3)
    victim = sorted(folder.glob("*.dcm"))[0]
    ds = pydicom.dcmread(victim)
    ds.Rows, ds.Columns = 16, 20
    ds.PixelData = np.zeros((16, 20), np.int16).tobytes()
    ds.save_as(victim)
    _assert_load_error(folder, "different sizes")


def test_folder_without_recordings(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "b.bin").write_bytes(bytes(100))
    with pytest.raises(LoadError, match="no readable recordings"):
        list_series(tmp_path)
    _assert_load_error(tmp_path, "no readable recordings")


@pytest.mark.shared
def test_fuzzed_real_dicom_never_escapes_as_another_exception(shared_data, tmp_path):
    """50 seeded truncations and bit flips of a real file: each is a Recording or a LoadError."""
    source = shared_data.joinpath(*OB_FILE)
    data = source.read_bytes()
    rng = np.random.default_rng(20261122)
    outcomes = {"recording": 0, "load_error": 0}
    start = time.perf_counter()
    for i in range(50):
        mutated = bytearray(data)
        position = int(rng.integers(0, len(data)))
        if i % 2 == 0:
            mutated = mutated[:position]
        else:
            for offset in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
                mutated[int(offset)] ^= 1 << int(rng.integers(0, 8))
            mutated[position] ^= 0xFF
        path = tmp_path / f"fuzz_{i:02d}.dcm"
        path.write_bytes(bytes(mutated))
        try:
            result = load_recording(path)
        except LoadError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            outcomes["load_error"] += 1
        else:
            assert isinstance(result, Recording) and result.frames.ndim == 3
            outcomes["recording"] += 1
    assert outcomes["load_error"] >= 25  # all truncations at least
    assert time.perf_counter() - start < 60.0


@pytest.mark.shared
def test_copy_of_real_file_with_other_extension_loads(shared_data, tmp_path):
    target = tmp_path / "renamed.txt"
    shutil.copy(shared_data.joinpath(*OB_FILE), target)
    assert load_recording(target).frames.shape == (2, 600, 800)


def test_a_label_map_is_refused_as_an_image(tmp_path, capsys):
    """ACDC's `_gt` files (8-bit, values 0-3) were read as an echo clip of black frames: in a batch over ACDC
    folders, one row of noise per label file. One clear error instead; a real 8-bit image still reads."""
    import SimpleITK as sitk

    from app.cli import main
    from app.data.readers import load_recording

    labels = np.zeros((6, 40, 40), np.uint8)
    labels[:, 10:30, 10:30] = 2
    labels[:, 15:25, 15:25] = 1
    path = tmp_path / "patient001_frame01_gt.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(path))
    _assert_load_error(path, "label map")
    assert main(["analyze", str(path)]) == 2
    assert "every voxel is 0-2: a label map (give it with --labels)" in capsys.readouterr().err
    image = tmp_path / "clip.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray((labels * 60).astype(np.uint8)), str(image))
    assert load_recording(image).n_frames == 6


@pytest.mark.parametrize("delta_cm, calibrated", [(0.03, True), (50.0, False), (1e-7, False)])
def test_a_pixel_size_no_ultrasound_has_is_read_as_uncalibrated_with_a_note(tmp_path, delta_cm, calibrated):
    """An impossible calibration (500 mm pixels gave an EDV of 2e10 ml; 1e-9 mm hid the LV from the
    segmentation) is not used: nominal 1 mm pixels and a note, as for a video; a real one is kept."""
    frames, _ = echo_frames(n_frames=4)
    path = write_us(tmp_path / "clip.dcm", frames, region_box=(0, 0, frames.shape[1] - 1, frames.shape[2] - 1),
                    delta_cm=delta_cm, frame_time_ms=25.0)
    rec = load_recording(path)
    assert rec.calibrated is calibrated
    if calibrated:
        assert rec.spacing_mm == pytest.approx((0.3, 0.3)) and rec.reader_notes == ()
    else:
        assert rec.spacing_mm == (1.0, 1.0)
        size = f"{delta_cm * 10:.3g}"
        assert rec.reader_notes == (f"the file's pixel size ({size} x {size} mm) is not plausible for ultrasound "
                                    "(0.01-5.0 mm): read as uncalibrated (calibrate a known length to get mm and ml)",)


def test_an_mr_pixel_size_outside_its_range_is_not_used(tmp_path):
    import dataclasses

    from app.data.readers.plausible import checked_calibration

    folder, _ = write_mr_series(tmp_path / "sa", n_slices=2, n_phases=3, spacing_mm=1.5)
    rec = load_recording(folder)
    assert checked_calibration(rec) is rec and rec.calibrated
    odd = checked_calibration(dataclasses.replace(rec, spacing_mm=(0.001, 0.001)))
    assert not odd.calibrated and "not plausible for MR (0.05-10.0 mm)" in odd.reader_notes[-1]


@pytest.mark.parametrize("frame_time_ms, plausible",
                         [(20.0, True), (1.0, True), (500.0, True), (0.02, False), (2500.0, False)])
def test_a_frame_timing_no_scanner_gives_is_read_as_unknown_with_a_note(tmp_path, frame_time_ms, plausible):
    """FrameTime 0.02 ms (seconds written as milliseconds) read 50 000 frames a second and lost the clip's
    cycles; outside 1-500 ms a frame interval is read as no timing (nominal 30 Hz) with a note."""
    frames, _ = echo_frames(n_frames=4)
    rec = load_recording(write_us(tmp_path / "clip.dcm", frames, frame_time_ms=frame_time_ms, heart_rate=70))
    assert rec.frame_times_nominal is not plausible
    if plausible:
        assert rec.frame_rate_hz == pytest.approx(1000.0 / frame_time_ms) and rec.reader_notes == ()
    else:
        assert rec.frame_rate_hz == pytest.approx(30.0) and rec.heart_rate_bpm == 70
        per_s = 1000.0 / frame_time_ms
        rate = f"{per_s:.0f}" if per_s >= 1 else f"{per_s:.2g}"  # 2500 ms: 0.4, not "0"
        assert rec.reader_notes == (f"the file's frame timing ({rate} frames a second) is not plausible "
                                    "(2-1000 frames a second): read as unknown (no heart rate or RR from the "
                                    "frames)",)


@pytest.mark.parametrize("size_m, weight_kg, height_cm, kept_weight", [
    (1.75, 70.0, 175.0, 70.0), (175.0, 70.0, None, 70.0), (1.75, 7000.0, 175.0, None), (0.0, 70.0, None, 70.0)])
def test_a_patient_size_no_patient_has_is_not_used(tmp_path, size_m, weight_kg, height_cm, kept_weight):
    """DICOM's PatientSize is in metres; 175 (centimetres written as metres) read as 17 500 cm and the BSA went
    missing unexplained. A height or weight outside the plausible ranges is not used, with a note; 0 is
    DICOM's 'unknown' and needs none."""

    frames, _ = echo_frames(n_frames=4)
    path = write_us(tmp_path / "clip.dcm", frames, frame_time_ms=20.0)
    ds = pydicom.dcmread(path)
    ds.PatientSize, ds.PatientWeight = size_m, weight_kg
    ds.save_as(path, enforce_file_format=True)
    rec = load_recording(path)
    assert rec.patient.height_cm == (pytest.approx(height_cm) if height_cm else None)
    assert rec.patient.weight_kg == kept_weight
    notes = [n for n in rec.reader_notes if "not plausible" in n]
    if size_m == 175.0:
        assert notes == ["the file's patient height (17500 cm) is not plausible (30-250 cm): not used, so no BSA "
                         "from it (enter the patient's height and weight)"]
    elif weight_kg == 7000.0:
        assert len(notes) == 1 and notes[0].startswith("the file's patient weight (7000 kg) is not plausible")
    else:
        assert notes == []


@pytest.mark.parametrize("extra", [5, 1])
def test_encapsulated_frames_fewer_than_the_header_says(tmp_path, extra):
    """The demo clip (RLE, 36 frames) with NumberOfFrames raised: pydicom runs out of frames (StopIteration)."""
    from pathlib import Path

    ds = pydicom.dcmread(Path(__file__).resolve().parents[1] / "resources/demo/a4c.dcm")
    ds.NumberOfFrames = int(ds.NumberOfFrames) + extra
    path = tmp_path / "more_frames.dcm"
    ds.save_as(path)
    _assert_load_error(path, f"the pixel data holds fewer frames than the header's {36 + extra} (a file cut short, "
                             "or a wrong NumberOfFrames)")


def test_compressed_pixel_data_already_read_is_not_taken_for_short_native_data(tmp_path, us_file):
    """Once read, encapsulated pixel data has a length far below the decoded frames': it is judged as compressed."""
    from pydicom.uid import RLELossless

    from app.data.readers.dicom_common import check_size, read_dataset

    ds = pydicom.dcmread(us_file)
    ds.compress(RLELossless)
    path = tmp_path / "rle.dcm"
    ds.save_as(path)
    read = read_dataset(path)
    assert len(read.PixelData) < read.Rows * read.Columns * read.NumberOfFrames
    check_size(read, path)  # no LoadError
    assert load_recording(path).n_frames == 4


@pytest.mark.parametrize("pixdim", [0.0, -1.0, float("nan"), 0.8])
def test_a_nifti_without_a_pixel_size_is_uncalibrated_not_1_mm(tmp_path, pixdim):
    """ITK reads a NIfTI pixdim of 0 as 1 mm: an ACDC stack so stored gave EDV 7 ml (reference 137) as calibrated
    volumes. A pixdim that is not a positive size is no calibration: uncalibrated, with a note."""
    import struct

    import SimpleITK as sitk

    frames, _ = echo_frames(n_frames=6)
    path = tmp_path / "a4c_clip.nii"
    image = sitk.GetImageFromArray(frames)
    image.SetSpacing((0.8, 0.8, 0.02))
    sitk.WriteImage(image, str(path))
    raw = bytearray(path.read_bytes())
    raw[80:88] = struct.pack("<2f", pixdim, pixdim)  # pixdim[1], pixdim[2]
    path.write_bytes(bytes(raw))
    rec = load_recording(path)
    if pixdim == 0.8:
        assert rec.calibrated and rec.spacing_mm == pytest.approx((0.8, 0.8)) and rec.reader_notes == ()
    else:
        assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
        assert rec.reader_notes == ("the file gives no pixel size (pixdim 0): read as uncalibrated (calibrate a known "
                                    "length to get mm and ml)",)


@pytest.mark.parametrize("fill", [0.0, float("nan"), 7.5])
def test_a_blank_nifti_is_refused_not_measured(tmp_path, fill):
    """A float stack of one value everywhere (or of NaN) gave exit 0 and 'LV volume nan ml'."""
    import SimpleITK as sitk

    path = tmp_path / "blank.nii.gz"
    image = sitk.GetImageFromArray(np.full((6, 64, 64), fill, np.float32))
    image.SetSpacing((1.5, 1.5, 8.0))
    sitk.WriteImage(image, str(path))
    err = _assert_load_error(path, "a blank image, nothing to analyze")
    if fill == fill:  # (ITK reads a NaN voxel as 0)
        assert f"every voxel is {fill:g}" in str(err)


def test_nan_or_infinite_voxels_are_background_and_said(tmp_path):
    """They reached the contours and the JSON writer (an internal error: 'Out of range float values are not JSON
    compliant: nan'); a file with no number in it is refused as such."""
    frames, _ = echo_frames(n_frames=8)
    data = frames.astype(np.float32)
    data[2, 10:20, 10:20] = np.nan
    data[5, 30:33, 30:33] = np.inf
    (tmp_path / "a4c_clip.raw").write_bytes(data.tobytes())  # a MetaImage keeps the bytes (ITK's NIfTI writer not)
    (tmp_path / "a4c_clip.mhd").write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 160 120 8\nElementType = MET_FLOAT\n"
        "ElementSpacing = 0.3 0.3 0.04\nElementDataFile = a4c_clip.raw\n")
    recording = load_recording(tmp_path / "a4c_clip.mhd")
    assert np.isfinite(recording.frames).all() and recording.frames[2, 15, 15] == data[np.isfinite(data)].min()
    assert any(n.startswith("109 of ") and "not numbers (NaN or infinite)" in n for n in recording.reader_notes)
    (tmp_path / "a4c_clip.raw").write_bytes(np.full_like(data, np.nan).tobytes())
    with pytest.raises(LoadError, match="no voxel is a number"):
        load_recording(tmp_path / "a4c_clip.mhd")


def test_a_nifti_of_complex_numbers_is_refused_in_one_line(tmp_path):
    """Raw MR data before reconstruction (NIfTI complex64) had come back as a SimpleITK internal error."""
    import SimpleITK as sitk

    data = (np.ones((3, 5, 16, 16)) + 1j * np.ones((3, 5, 16, 16))).astype(np.complex64)
    path = tmp_path / "raw.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(data, isVector=False), str(path))
    with pytest.raises(LoadError, match="the image holds complex numbers") as raised:
        load_recording(path)
    assert "sitk" not in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("spacing", ["NaN 0.3 0.04", "0 0.3 0.04"])
def test_a_metaimage_with_a_spacing_of_zero_or_nan_names_its_header_field(tmp_path, spacing):
    """It read "the image data could not be read (Zero-valued spacing is not supported and may result in
    undefined behavior.)", ITK's words, which name neither the field nor the fix."""
    frames, _ = echo_frames(n_frames=8)
    (tmp_path / "a4c_clip.raw").write_bytes(frames.tobytes())
    (tmp_path / "a4c_clip.mhd").write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 160 120 8\nElementType = MET_UCHAR\n"
        f"ElementSpacing = {spacing}\nElementDataFile = a4c_clip.raw\n")
    with pytest.raises(LoadError, match=f"ElementSpacing = {spacing}") as raised:
        load_recording(tmp_path / "a4c_clip.mhd")
    assert "Zero-valued" not in str(raised.value) and "fix its ElementSpacing" in str(raised.value)
