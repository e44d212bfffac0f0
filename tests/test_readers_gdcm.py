"""GDCM as the fallback pixel decoder: a 12-bit lossy JPEG (JPEG Extended) MR image that pydicom's
decoders refuse ("A misplaced marker segment") opens, matching the decode of the corrected file; a file no
decoder can read is still one LoadError line. Test images: the ones pydicom ships (pydicom.data)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from app.data.errors import LoadError
from app.data.readers import load_recording


def _as_mr(name: str, out):
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.Modality = "MR"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.save_as(out)
    return out


def test_12_bit_lossy_jpeg_mr_decodes_through_gdcm(tmp_path, capfd):
    path = _as_mr("JPEG-lossy.dcm", tmp_path / "mr_jply.dcm")
    with pytest.raises(Exception, match="misplaced marker|all available plugins"):
        _ = pydicom.dcmread(path).pixel_array  # pydicom's own decoders fail on this file
    recording = load_recording(path)
    reference = pydicom.dcmread(get_testdata_file("JPGExtended.dcm")).pixel_array  # the corrected stream
    assert recording.modality == "mri" and recording.frames.shape == (1, 1024, 256)
    assert np.abs(recording.frames[0].astype(int) - reference.astype(int)).max() <= 1  # lossy rounding only
    assert "JPEG" not in capfd.readouterr().err  # GDCM's codec warnings stay off stderr


def test_undecodable_pixels_are_one_load_error(tmp_path):
    ds = pydicom.dcmread(_as_mr("JPEG-lossy.dcm", tmp_path / "mr.dcm"))
    frames = pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1)
    data = next(frames)
    ds.PixelData = pydicom.encaps.encapsulate([data[:200] + b"\xff\xd9"])
    ds.save_as(tmp_path / "broken.dcm")
    with pytest.raises(LoadError) as err:
        load_recording(tmp_path / "broken.dcm")
    assert "\n" not in str(err.value) and "decoded" in str(err.value)


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEGLSLossless"])
def test_damaged_pixel_data_that_ends_gdcm_is_one_line_not_a_dead_process(tmp_path, syntax):
    """GDCM ended the process (a floating-point trap in its RLE codec, an uncaught C++ exception in its JPEG-LS
    one) on raw frames wrapped as compressed ones: the viewer vanished with the last edits, a batch never got past
    the file. It runs apart now; the command gives one line and exit 2 (run as a user does, in a process)."""
    import subprocess
    import sys

    import pydicom.uid
    from pydicom.encaps import encapsulate
    from readers_helpers import echo_frames, write_us

    frames, _ = echo_frames(n_frames=10)
    path = write_us(tmp_path / "clip.dcm", frames, region_box=(5, 5, 114, 154), delta_cm=0.03, frame_time_ms=40.0)
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([f.tobytes()[:5000] for f in ds.pixel_array])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = getattr(pydicom.uid, syntax)
    ds.save_as(path, enforce_file_format=True)
    done = subprocess.run([sys.executable, "-m", "app", "info", str(path)], capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, (done.returncode, done.stderr[-500:])
    assert "the pixel data could not be decoded" in lines[0]


def _decode_in(path, results) -> None:
    from app.data.readers.gdcm_decode import decode_with_gdcm

    try:
        results.put(decode_with_gdcm(path)[0].shape)
    except Exception as exc:  # noqa: BLE001 - the parent asserts on it
        results.put(repr(exc))


def test_the_fallback_decodes_in_a_daemonic_process_such_as_a_dask_worker(tmp_path):
    """A daemonic process may start no child: the fallback decodes in it (a batch on --workers) instead of failing
    every 12-bit JPEG file with 'daemonic processes are not allowed to have children'."""
    import multiprocessing

    path = _as_mr("JPEG-lossy.dcm", tmp_path / "mr_jply.dcm")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(target=_decode_in, args=(str(path), results), daemon=True)
    worker.start()
    worker.join(120)
    assert results.get(timeout=5) == (1, 1024, 256)
