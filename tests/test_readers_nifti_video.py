"""NIfTI / MetaImage through SimpleITK and AVI / MP4 through OpenCV."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from readers_helpers import echo_frames, write_video_cut_short

from app.data.readers import LoadError, list_series, load_recording


@pytest.mark.shared
def test_real_echo_clip_nifti(shared_data):
    rec = load_recording(shared_data / "echo_clip_a4c" / "a4c_sequence.nii.gz")
    # stored (width 560, height 480, time 20): depth along rows after SimpleITK's axis reversal
    assert rec.frames.shape == (20, 480, 560)
    assert rec.modality == "echo" and rec.view == "a4c"
    # header spacing 0.4 with unknown units (xyzt_units 0) is nominal: not trusted
    assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
    assert rec.frame_times_nominal and rec.frame_rate_hz == pytest.approx(30.0)
    mask = rec.sector_mask
    assert 0.2 < mask.mean() < 0.4
    rows, cols = np.nonzero(mask)
    assert rows.min() < 40 and rows.max() > 380  # apex at the top, arc at the bottom
    top, bottom = mask[rows.min() + 20].sum(), mask[rows.max() - 40].sum()
    assert top < bottom / 4  # a fan: narrow near the probe
    assert not mask[:, :20].any() and not mask[:, -20:].any()  # depth ruler / side annotations out
    assert not rec.frames[:, ~mask].any()


def _write(array: np.ndarray, path, spacing) -> None:
    image = sitk.GetImageFromArray(array, isVector=False)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def test_camus_style_sequence_name_gives_view_and_layout(tmp_path):
    frames, sector = echo_frames(n_frames=7, shape=(90, 70))
    path = tmp_path / "patient0001_2CH_sequence.nii.gz"
    _write(frames, path, (0.31, 0.154, 0.04))  # x (col), y (row), t: 40 ms per frame
    rec = load_recording(path)
    assert rec.frames.shape == (7, 90, 70) and rec.view == "a2c" and rec.modality == "echo"
    assert rec.calibrated and rec.spacing_mm == pytest.approx((0.154, 0.31))
    assert rec.frame_rate_hz == pytest.approx(25.0) and not rec.frame_times_nominal
    inside = rec.sector_mask & sector
    assert inside.sum() > 0.9 * sector.sum()
    both = rec.sector_mask & sector
    assert np.array_equal(rec.frames[:, both], frames[:, both])  # no transposition, no flip


def test_acdc_style_4d_short_axis(tmp_path):
    t, z, y, x = 6, 5, 30, 28
    data = np.zeros((t, z, y, x), dtype=np.int16)
    for k in range(z):
        for p in range(t):
            data[p, k] = 100 * k + p
    path = tmp_path / "patient001_4d.nii.gz"
    _write(data, path, (1.5, 1.4, 10.0, 1.0))
    rec = load_recording(path)
    assert rec.modality == "mri" and rec.frames.shape == (z, t, y, x)
    assert rec.frames[3, 2, 0, 0] == 302  # identity direction: file order kept
    assert rec.spacing_mm == pytest.approx((1.4, 1.5)) and rec.slice_spacing_mm == pytest.approx(10.0)
    assert rec.frame_times_nominal  # a 1 s "time step" is ITK's default, not a frame interval
    info = list_series(path)[0]
    assert info.shape == (z, t, y, x) and info.modality == "mri"


def test_3d_volume_without_echo_name_is_a_slice_stack(tmp_path):
    data = np.arange(4 * 10 * 12, dtype=np.uint16).reshape(4, 10, 12)
    path = tmp_path / "volume.nii"
    _write(data, path, (0.8, 0.8, 2.0))
    rec = load_recording(path)
    assert rec.frames.shape == (4, 1, 10, 12) and rec.slice_spacing_mm == pytest.approx(2.0)


def test_metaimage_mhd_raw(tmp_path):
    frames, _ = echo_frames(n_frames=5, shape=(64, 48))
    path = tmp_path / "patient0002_4CH_sequence.mhd"
    _write(frames, path, (0.3, 0.2, 1.0))
    assert (tmp_path / "patient0002_4CH_sequence.raw").exists() or (tmp_path / "patient0002_4CH_sequence.zraw").exists()
    rec = load_recording(path)
    assert rec.frames.shape == (5, 64, 48) and rec.view == "a4c"
    assert rec.calibrated and rec.spacing_mm == pytest.approx((0.2, 0.3))
    assert rec.frame_times_nominal  # a time step of 1 (s) is a default, not a frame interval
    _write(frames, path, (0.3, 0.2, 0.02))  # 20 ms per frame, MetaImage time axis in seconds
    timed = load_recording(path)
    assert not timed.frame_times_nominal and timed.frame_rate_hz == pytest.approx(50.0)
    for raw in tmp_path.glob("*.*raw"):
        raw.unlink()
    with pytest.raises(LoadError, match=r"mhd: its image data file 'patient0002_4CH_sequence\.z?raw', named in the "
                                          r"header, is not in"):
        load_recording(path)


def test_a_metaimage_without_its_data_file_says_so_in_one_line_on_the_command_line(tmp_path, capfd):
    """Not ITK's 'File cannot be read' after a line of MetaIO's own on stderr: the one line names the file."""
    from app.cli import main

    path = tmp_path / "clip.mhd"
    path.write_text("ObjectType = Image\nNDims = 3\nDimSize = 8 8 2\nElementType = MET_UCHAR\n"
                    "ElementDataFile = clip.raw\n")
    assert main(["analyze", str(path), "--json", str(tmp_path / "out.json")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: its image data file 'clip.raw', named in the header, is not in '{tmp_path}'"]


@pytest.mark.parametrize("name, data_file", [("clip.mha", "clip.mha"), ("clip.mhd", "clip.raw")])
def test_a_metaimage_cut_short_says_how_many_bytes_its_header_needs(tmp_path, name, data_file):
    """Data in the header's file (.mha) or beside it (.mhd + .raw), cut short: one line with the sizes (ITK's own
    error was 'File cannot be read')."""
    import SimpleITK as sitk

    frames, _ = echo_frames(n_frames=5, shape=(64, 48))
    path = tmp_path / name
    sitk.WriteImage(sitk.GetImageFromArray(frames), str(path))  # uncompressed
    assert load_recording(path).frames.shape == (5, 64, 48)
    data = tmp_path / data_file
    data.write_bytes(data.read_bytes()[:-1000])
    with pytest.raises(LoadError, match=r"the file is truncated: \d+ bytes of image data, the header needs 15360"):
        load_recording(path)


@pytest.mark.parametrize("suffix, fourcc", [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_video_written_with_opencv(tmp_path, suffix, fourcc):
    import cv2

    frames, sector = echo_frames(n_frames=12, shape=(96, 128))
    path = tmp_path / f"a4c_clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 24.0, (128, 96), isColor=True)
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    rec = load_recording(path)
    assert rec.frames.shape == (12, 96, 128) and rec.frames.dtype == np.uint8
    assert rec.reader_notes == ()  # every frame the header announces was read
    assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
    assert rec.frame_rate_hz == pytest.approx(24.0) and not rec.frame_times_nominal
    assert rec.view == "a4c" and rec.modality == "echo"
    assert (rec.sector_mask & sector).sum() > 0.8 * sector.sum()
    renamed = path.with_suffix(".bin")  # content, not extension, decides
    path.rename(renamed)
    assert load_recording(renamed).frames.shape == (12, 96, 128)


def test_a_truncated_video_keeps_the_frames_it_has_and_says_so(tmp_path, capsys):
    """An AVI cut short (an interrupted copy or export): the frames before the cut are analyzed, and the reader's
    note reaches `info`, the analysis notes and the text summary."""
    from app.cli import main

    frames, _ = echo_frames(n_frames=20, shape=(96, 128))
    path = write_video_cut_short(tmp_path / "a4c_clip.avi", frames)
    rec = load_recording(path)
    assert 5 < rec.n_frames < 20
    assert rec.reader_notes == (f"the video ends early: {rec.n_frames} of the 20 frames its header announces could "
                                "be read (a truncated or damaged file)",)
    assert main(["info", str(path)]) == 0
    assert f"note:            the video ends early: {rec.n_frames} of the 20" in capsys.readouterr().out
    assert main(["analyze", str(path)]) == 0
    assert f"  note: the video ends early: {rec.n_frames} of the 20" in capsys.readouterr().out


_META_HEADER = "ObjectType = Image\nNDims = {ndims}\nDimSize = 10 10\nElementType = MET_UCHAR\n"


@pytest.mark.parametrize("name, content, reason", [
    ("dims.mhd", _META_HEADER.format(ndims=7) + "ElementDataFile = LOCAL\n", "ElementType required and not defined"),
    ("series.mhd", _META_HEADER.format(ndims=2) + "ElementDataFile = img%03d.raw 1 3 1\n", "cannot construct file"),
    ("zipped.mhd", _META_HEADER.format(ndims=2) + "CompressedData = True\nElementDataFile = LOCAL\n" + "x" * 40,
     "Uncompress failed"),
])
def test_a_damaged_metaimage_gives_one_line_with_the_parsers_reason(tmp_path, capfd, name, content, reason):
    """MetaIO prints why on stderr and ITK raises 'File cannot be read', or (corrupt compressed data) reads
    on: one line, with the parser's reason, exit 2."""
    from app.cli import main

    path = tmp_path / name
    path.write_text(content)
    assert main(["analyze", str(path), "--json", str(tmp_path / "out.json")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: the image") and reason in err[0]


def test_a_nifti_with_an_impossible_dimension_count_gives_nifticlibs_reason(tmp_path, capfd):
    from app.cli import main

    path = tmp_path / "stack.nii"
    _write(np.zeros((2, 8, 8), np.uint16), path, (1.0, 1.0, 8.0))
    data = bytearray(path.read_bytes())
    data[40:42] = b"\xff\x7f"  # dim[0], the number of dimensions
    path.write_bytes(bytes(data))
    assert main(["analyze", str(path), "--json", str(tmp_path / "out.json")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: the image header could not be read (nifti_convert_nhdr2nim: bad dim[0])"]


def test_native_stderr_is_captured_and_given_back_on_request(capfd):
    import os

    from app.data.readers.native_stderr import native_stderr_captured

    with native_stderr_captured() as printed:
        os.write(2, b"** ERROR: nifti: bad dim[0].\nmore\n")  # as a C library writes
    assert capfd.readouterr().err == "" and printed.first_line() == "nifti: bad dim[0]" and printed.says_failed()
    with native_stderr_captured() as printed:
        os.write(2, b"a notice\nQObject::connect: Cannot queue arguments of type 'X'\n")  # another thread's words
    assert not printed.says_failed()
    printed.emit()
    assert capfd.readouterr().err == "a notice\nQObject::connect: Cannot queue arguments of type 'X'\n"


@pytest.mark.parametrize("name, compress", [("clip.nii", True), ("clip.nii.gz", False)])
def test_a_nifti_whose_name_says_the_wrong_compression_is_read_by_its_content(tmp_path, name, compress):
    """A gzip NIfTI saved as .nii (or a plain one as .nii.gz): ITK goes by the name; we go by the bytes."""
    frames = np.random.default_rng(3).integers(0, 255, (5, 32, 40), dtype=np.uint8)
    written = tmp_path / ("w.nii.gz" if compress else "w.nii")
    sitk.WriteImage(sitk.GetImageFromArray(frames), str(written))
    data = written.read_bytes()
    assert (data[:2] == b"\x1f\x8b") == compress
    (tmp_path / name).write_bytes(data)
    rec = load_recording(tmp_path / name)
    assert rec.frames.shape[-2:] == (32, 40) and rec.frames.size == frames.size


def test_a_video_opencv_cannot_open_gives_our_one_line_not_its_warning(tmp_path, capfd):
    from app.cli import main

    path = tmp_path / "clip.avi"
    path.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST")
    assert main(["analyze", str(path), "--json", str(tmp_path / "out.json")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: the video could not be opened (corrupt file or unsupported codec)"]


def test_an_avi_whose_header_gives_no_rate_has_nominal_timing_not_ffmpegs_25(tmp_path):
    """FFmpeg reports its default 25 fps for an AVI whose stream rate and frame period are 0, as if the file had
    said so: a 50 Hz clip's heart rate came out halved, unmarked. Its timing is nominal now (no heart rate)."""
    import struct

    import cv2

    frames, _ = echo_frames(n_frames=12)
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, frames.shape[:0:-1], isColor=True)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    assert load_recording(path).frame_rate_hz == pytest.approx(50.0)
    raw = bytearray(path.read_bytes())
    strh, avih = raw.find(b"strh"), raw.find(b"avih")
    struct.pack_into("<II", raw, strh + 8 + 20, 0, 0)  # dwScale, dwRate
    struct.pack_into("<I", raw, avih + 8, 0)  # dwMicroSecPerFrame
    path.write_bytes(bytes(raw))
    recording = load_recording(path)
    assert recording.frame_times_nominal and recording.heart_rate_bpm is None


@pytest.mark.parametrize("absolute", [True, False])
def test_a_metaimage_whose_data_file_lies_elsewhere_is_refused(tmp_path, absolute):
    """`ElementDataFile = /etc/passwd` had been read as a calibrated 10 x 10 image."""
    (tmp_path / "outside.raw").write_bytes(bytes(100))
    data_file = str(tmp_path / "outside.raw") if absolute else "../outside.raw"
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "clip.mhd").write_text("ObjectType = Image\nNDims = 2\nDimSize = 10 10\nElementType = MET_UCHAR\n"
                                     f"ElementDataFile = {data_file}\n")
    with pytest.raises(LoadError, match="lies outside"):
        load_recording(folder / "clip.mhd")
