"""`cardiotrace info`: text and JSON output, series listing, bad input -> one line on stderr, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from readers_helpers import (
    US_MULTIFRAME_SOP,
    base_dataset,
    echo_frames,
    set_rgb_pixels,
    write_enhanced_mr,
    write_mr_series,
    write_us,
    write_video_cut_short,
)

from app.cli import main


def _run(capsys, *argv):
    code = main(["info", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def us_clip(tmp_path):
    frames, _ = echo_frames(n_frames=6)
    return write_us(tmp_path / "clip.dcm", frames, region_box=(5, 5, 114, 154), delta_cm=0.03, frame_time_ms=40.0,
                    heart_rate=66, description="A4C")


def test_info_text(capsys, us_clip):
    code, out, err = _run(capsys, us_clip)
    assert code == 0 and not err
    assert "modality:        echo" in out and "view:            a4c" in out
    assert "[6, 120, 160]" in out and "0.3 x 0.3" in out and "25.0 Hz" in out and "66.0 bpm" in out
    assert "calibrated:      yes" in out


def test_info_json(capsys, us_clip):
    code, out, _ = _run(capsys, us_clip, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["modality"] == "echo" and data["shape"] == [6, 120, 160] and data["frames"] == 6
    assert data["spacing_mm"] == pytest.approx([0.3, 0.3]) and data["frame_rate_hz"] == pytest.approx(25.0)
    assert data["calibrated"] is True and data["view"] == "a4c" and data["has_sector_mask"] is True
    assert data["series_description"] == "A4C"
    assert len(data["series"]) == 1 and data["series"][0]["shape"] == [6, 120, 160]


def test_info_folder_lists_series_and_picks_one(capsys, tmp_path, us_clip):
    write_mr_series(tmp_path / "mr", n_slices=2, n_phases=3)
    code, out, _ = _run(capsys, tmp_path)
    assert code == 0 and "2 series found" in out and "[mri]" in out and "[echo]" in out
    code, out, _ = _run(capsys, tmp_path, "--json")
    data = json.loads(out)
    assert len(data["series"]) == 2 and "modality" not in data
    mr_key = next(s["key"] for s in data["series"] if s["modality"] == "mri")
    code, out, _ = _run(capsys, tmp_path, "--series", mr_key, "--json")
    data = json.loads(out)
    assert code == 0 and data["shape"] == [2, 3, 32, 40] and data["slice_spacing_mm"] == pytest.approx(8.0)


@pytest.mark.parametrize("content", [b"", b"hello, not an image\n", b"%PDF-1.5\n" + bytes(50),
                                     bytes(128) + b"DICM" + bytes(range(256)) * 3])
def test_info_bad_input_is_one_line_exit_2(capsys, tmp_path, content):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(content)
    code, out, err = _run(capsys, bad)
    assert code == 2 and not out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0]


def test_info_missing_path_and_unknown_series(capsys, tmp_path, us_clip):
    code, _, err = _run(capsys, tmp_path / "nothing")
    assert code == 2 and "no such file or folder" in err
    write_mr_series(tmp_path / "mr", n_slices=2, n_phases=2)
    code, _, err = _run(capsys, tmp_path, "--series", "1.2.3")
    assert code == 2 and "no series with key" in err and len(err.strip().splitlines()) == 1


def test_series_key_of_a_single_file_is_checked(capsys, us_clip):
    """A single file holds one series: its own key (or name) reads it, any other key is refused, not ignored."""
    code, out, _ = _run(capsys, us_clip, "--series", us_clip.name)
    assert code == 0 and "modality:        echo" in out
    code, out, err = _run(capsys, us_clip, "--series", "1.2.3")
    assert code == 2 and not out and "no series with key '1.2.3'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.shared
def test_info_subprocess_on_real_data(shared_data, project_root):
    result = subprocess.run(
        [sys.executable, "-m", "app", "info", "--json", str(shared_data / "sunnybrook" / "dicoms" / "SCD0000401")],
        capture_output=True, text=True, cwd=project_root, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["shape"] == [11, 20, 256, 256] and data["spacing_mm"] == pytest.approx([1.3672, 1.3672])
    assert data["slice_spacing_mm"] == pytest.approx(8.0, abs=0.01) and data["heart_rate_bpm"] == 59.0
    bad = subprocess.run([sys.executable, "-m", "app", "info", str(shared_data / "README.md")],
                         capture_output=True, text=True, cwd=project_root, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and not bad.stdout


def test_info_into_head_ends_quietly():
    """`info FOLDER | head -1` (issue 54): the reader closes the pipe; no "internal error ... BrokenPipeError"."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(f"'{sys.executable}' -m app info resources/demo/sax | head -1", shell=True, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("path:") and len(done.stdout.splitlines()) == 1
    assert done.stderr == "", done.stderr


def test_info_names_the_patient_and_study(capsys, us_clip):
    """So a file can be checked against the request before it is analyzed; the JSON had no patient at all."""
    import pydicom

    ds = pydicom.dcmread(us_clip)
    ds.PatientName, ds.PatientID, ds.PatientSex = "Doe^Jane", "MRN-0042", "F"
    ds.PatientBirthDate, ds.StudyDate, ds.InstitutionName = "19610215", "20261130", "General Hospital"
    ds.PatientSize, ds.PatientWeight = 1.68, 61
    ds.save_as(us_clip)
    code, out, _ = _run(capsys, us_clip)
    assert code == 0
    assert "patient:         Doe Jane, ID MRN-0042, born 1961-02-15, F (168 cm, 61 kg)" in out
    assert "study:           2026-11-30, General Hospital" in out
    code, out, _ = _run(capsys, us_clip, "--json")
    patient = json.loads(out)["patient"]
    assert patient["patient_id"] == "MRN-0042" and patient["birth_date"] == "19610215"
    assert patient["height_cm"] == pytest.approx(168.0) and patient["weight_kg"] == pytest.approx(61.0)


def _write_avi(path, frames: np.ndarray, fps: float = 30.0):
    """MJPEG AVI of grey (T, H, W) or RGB (T, H, W, 3) uint8 frames."""
    import cv2

    rgb = frames if frames.ndim == 4 else np.repeat(frames[..., None], 3, axis=-1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, rgb.shape[2:0:-1], isColor=True)
    for frame in rgb:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def _rle_us(path, frames: np.ndarray):
    import pydicom
    from pydicom.uid import RLELossless

    write_us(path, frames, frame_time_ms=20.0)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(path)
    return path


def _plain_clip(n_frames: int, shape_hw: tuple[int, int]) -> np.ndarray:
    """(T, H, W) uint8: a fan of one grey with a disc that grows and shrinks; a small file however many frames."""
    h, w = shape_hw
    rows, cols = np.mgrid[:h, :w]
    fan = (np.hypot(rows, cols - w / 2) < 0.9 * h) & (np.abs(cols - w / 2) < 0.8 * rows)
    frames = np.where(fan, np.uint8(60), np.uint8(0))[None].repeat(n_frames, axis=0)
    for t, frame in enumerate(frames):
        radius = h * (0.15 + 0.05 * np.sin(2 * np.pi * t / 30))
        frame[np.hypot(rows - h / 2, cols - w / 2) < radius] = 180
    return frames


@pytest.mark.parametrize("kind", ["avi", "dcm"])
def test_info_on_a_long_clip_holds_less_than_its_decoded_frames(capsys, tmp_path, kind):
    """`info` reads the header and a sample of the frames: it had decoded and kept every frame of a clip, and masked
    copies of them, so a large video, small on disk, took seconds and gigabytes. Now its peak of Python-side memory
    stays well under the decoded clip's size."""
    frames = _plain_clip(600, (160, 200))
    path = _write_avi(tmp_path / "clip.avi", frames) if kind == "avi" else _rle_us(tmp_path / "clip.dcm", frames)
    assert path.stat().st_size < frames.nbytes / 4  # the clip is small on disk, large decoded
    code, peak_bytes = _info_json_traced(path, capsys)
    assert code == 0 and json.loads(capsys.readouterr().out)["shape"] == [600, 160, 200]
    assert peak_bytes < frames.nbytes / 2, f"peak {peak_bytes} bytes for a clip of {frames.nbytes} bytes decoded"


def _info_json_traced(path, capsys) -> tuple[int, int]:
    """(exit code, peak of Python-side memory) of `info --json PATH`, its imports done before the measure; the JSON
    is left in capsys."""
    import tracemalloc

    assert main(["info", str(path)]) == 0
    capsys.readouterr()
    tracemalloc.start()
    try:
        code = main(["info", "--json", str(path)])
        return code, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _colour_flow_clip(n_frames: int) -> np.ndarray:
    """(T, H, W, 3) uint8: a grey echo clip with a blue jet inside its sector in every frame."""
    frames, _ = echo_frames(n_frames=n_frames, shape=(96, 128))
    rgb = np.repeat(frames[..., None], 3, axis=-1)
    rgb[:, 40:60, 50:80] = (0, 60, 230)
    return rgb


def _rgb_us(path, rgb: np.ndarray):
    ds = base_dataset(US_MULTIFRAME_SOP, "US")
    set_rgb_pixels(ds, rgb)
    ds.save_as(path, enforce_file_format=True)
    return path


_SUMMARY_CASES = {  # what each exercises of the summary's reading
    "long video": lambda d: _write_avi(d / "a4c_long.avi", echo_frames(n_frames=150, shape=(64, 80))[0]),
    "colour video": lambda d: _write_avi(d / "colour.avi", _colour_flow_clip(150)),  # the second, colour pass
    "cut video": lambda d: write_video_cut_short(d / "cut.avi", echo_frames(n_frames=100, shape=(64, 80))[0]),
    "colour dicom": lambda d: _rgb_us(d / "colour.dcm", _colour_flow_clip(150)),
    "rle dicom": lambda d: _rle_us(d / "rle.dcm", echo_frames(n_frames=150, shape=(60, 80))[0]),
    "mr series": lambda d: write_mr_series(d / "mr", n_slices=3, n_phases=4)[0],
    "enhanced mr": lambda d: write_enhanced_mr(d / "enhanced.dcm") is not None and d / "enhanced.dcm",
}


@pytest.mark.parametrize("case", sorted(_SUMMARY_CASES))
def test_info_summary_is_the_loaded_recordings(tmp_path, case):
    """What `info` prints without decoding every frame is what the whole recording, loaded, says of itself."""
    from app.data.readers import load_recording, read_summary

    path = _SUMMARY_CASES[case](tmp_path)
    read = read_summary(path)
    summary = read.fields
    assert summary == load_recording(path).summary() and read.too_large_to_load is None
    if case.startswith("colour"):
        assert summary["image_mode"] == "colour Doppler"
    if case == "cut video":
        assert summary["reader_notes"] and summary["frames"] < 100


def _native_us(path, frames: np.ndarray):
    """Uncompressed: the pixel data is the decoded clip (read a frame at a time from the file for a sample)."""
    return write_us(path, frames, frame_time_ms=20.0)


_TOO_LARGE_CASES = {  # name: (file of it, CARDIOTRACE_MAX_LOAD_MB under which it is too large to load)
    "dicom clip": (lambda d: write_us(d / "clip.dcm", echo_frames(n_frames=40)[0], region_box=(5, 5, 114, 154),
                                      delta_cm=0.03, frame_time_ms=40.0, heart_rate=66, description="A4C"), 0.5),
    "rle dicom": (lambda d: _rle_us(d / "rle.dcm", echo_frames(n_frames=60, shape=(60, 80))[0]), 0.2),
    "colour dicom": (lambda d: _rgb_us(d / "colour.dcm", _colour_flow_clip(40)), 0.5),
    "enhanced mr": (lambda d: write_enhanced_mr(d / "enhanced.dcm") is not None and d / "enhanced.dcm", 0.01),
    "avi": (lambda d: _write_avi(d / "a4c_long.avi", echo_frames(n_frames=150, shape=(64, 80))[0]), 0.5),
    # its grey frames fit, the colours read_video decodes again for a colour Doppler clip do not
    "colour avi colours": (lambda d: _write_avi(d / "colour.avi", _colour_flow_clip(150)), 10.0),
}


@pytest.mark.parametrize("case", sorted(_TOO_LARGE_CASES))
def test_info_summarizes_a_file_too_large_to_load(capsys, monkeypatch, tmp_path, case):
    """A file the viewer and `analyze` refuse as too large for this machine's memory: `info` had refused it too
    (exit 2) although its summary holds a sample of the frames only. Now it prints the summary it prints where the file
    loads, plus one line (one JSON key) with the reason the load gives, exit 0; the load still refuses it."""
    from app.data.readers import LoadError, load_recording

    build, limit_mb = _TOO_LARGE_CASES[case]
    path = build(tmp_path)
    monkeypatch.delenv("CARDIOTRACE_MAX_LOAD_MB", raising=False)
    fits_text, fits_json = (_run(capsys, path, *json_flag)[1] for json_flag in ((), ("--json",)))
    monkeypatch.setenv("CARDIOTRACE_MAX_LOAD_MB", str(limit_mb))
    with pytest.raises(LoadError, match="of memory once decoded") as refused:
        load_recording(path)
    reason = refused.value.reason
    code, out, err = _run(capsys, path)
    assert code == 0 and not err
    assert out == fits_text + f"too large:       the viewer and analyze would refuse it: {reason}\n"
    code, out, err = _run(capsys, path, "--json")
    assert code == 0 and not err
    assert json.loads(out) == {**json.loads(fits_json), "too_large_to_load": reason}


@pytest.mark.parametrize("kind", ["mr series", "nifti"])
def test_info_refuses_what_its_summary_reads_whole_when_too_large(capsys, monkeypatch, tmp_path, kind):
    """A series of MR images and a NIfTI are read whole for their summary too: too large to load, too large for
    `info`, which refuses them with the load's error (exit 2)."""
    import SimpleITK as sitk

    if kind == "nifti":
        path = tmp_path / "a4c_sequence.nii"
        sitk.WriteImage(sitk.GetImageFromArray(echo_frames(n_frames=20)[0]), str(path))
    else:
        path = write_mr_series(tmp_path / "mr", n_slices=3, n_phases=4)[0]
    assert _run(capsys, path)[0] == 0
    monkeypatch.setenv("CARDIOTRACE_MAX_LOAD_MB", "0.01")
    code, out, err = _run(capsys, path)
    assert code == 2 and not out and "of memory once decoded" in err and "so it was not loaded" in err


@pytest.mark.parametrize("kind", ["avi", "rle dcm", "native dcm"])
def test_info_on_a_clip_too_large_to_load_holds_a_sample_only(capsys, monkeypatch, tmp_path, kind):
    """`info` of a clip over the memory limit (CARDIOTRACE_MAX_LOAD_MB=5, the clip 19 MB decoded) holds a sample of
    its frames, not the clip: its peak of Python-side memory stays well under the decoded clip's size, an uncompressed
    DICOM's pixel data included (read a frame at a time from the file)."""
    frames = _plain_clip(600, (160, 200))
    writers = {"avi": (_write_avi, "clip.avi"), "rle dcm": (_rle_us, "clip.dcm"), "native dcm": (_native_us, "n.dcm")}
    write, name = writers[kind]
    path = write(tmp_path / name, frames)
    monkeypatch.setenv("CARDIOTRACE_MAX_LOAD_MB", "5")
    code, peak_bytes = _info_json_traced(path, capsys)
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["shape"] == [600, 160, 200] and "so it was not loaded" in data["too_large_to_load"]
    assert peak_bytes < frames.nbytes / 2, f"peak {peak_bytes} bytes for a clip of {frames.nbytes} bytes decoded"


def test_an_uncompressed_dicom_read_a_frame_at_a_time_is_summarized_as_loaded(tmp_path):
    """Pixel data larger than dicom_common.DEFER_BYTES stays on disk; a summary's sample is read from the file a frame
    at a time: the same summary as the whole recording loaded."""
    from app.data.readers import load_recording, read_summary
    from app.data.readers.dicom_common import DEFER_BYTES

    frames = echo_frames(n_frames=200, shape=(200, 240))[0]
    assert frames.nbytes > DEFER_BYTES
    path = _native_us(tmp_path / "native.dcm", frames)
    read = read_summary(path)
    assert read.fields == load_recording(path).summary() and read.too_large_to_load is None


def test_only_a_deferrable_check_is_deferred(monkeypatch):
    """Within refusals_deferred a summary's check records its refusal; a full load's check raises all the same, and
    outside it every check raises."""
    from app.data.errors import LoadError
    from app.data.readers import limits

    monkeypatch.setenv("CARDIOTRACE_MAX_LOAD_MB", "1")
    with pytest.raises(LoadError):
        limits.check_decoded_size("a.dcm", 2 * 1024**2, deferrable=True)
    with limits.refusals_deferred() as refused:
        limits.check_decoded_size("a.dcm", 2 * 1024**2, "the video", deferrable=True)
        limits.check_decoded_size("a.dcm", 1024**2, deferrable=True)  # within the limit
        with pytest.raises(LoadError):
            limits.check_decoded_size("a.dcm", 3 * 1024**2)
    assert [error.reason.split(" would")[0] for error in refused] == ["the video"]
