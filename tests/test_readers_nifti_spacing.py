"""A NIfTI / MetaImage whose voxel spacing was never set (every pixdim 1, the writer's default) is no calibration.

A cardiologist's review: ACDC patient061's ED and ES stacks written with SimpleITK without their spacing read as
calibrated 1 x 1 x 1 mm, and the report gave LV EDV 7.2 ml, ESV 2.5, mass 6.4 g, each flagged LOW (true spacing
about 1.5 x 1.5 x 10 mm, EDV about 140 ml). Rules: app/data/readers/unset_spacing.py.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import SimpleITK as sitk

from app.cli import main
from app.data.readers import load_recording

NOTE = "the header holds no voxel spacing"
FIX = "write the file with its voxel spacing in mm"


def _disk(shape, centre, radius):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius ** 2


def _labels(lv_r: float, n_slices: int, shape=(64, 64)) -> np.ndarray:
    """(S, H, W) in our convention: an LV pool of radius lv_r in a 4-px wall, an RV beside it."""
    out = np.zeros((n_slices, *shape), np.uint8)
    for s in range(n_slices):
        out[s][_disk(shape, (32, 26), lv_r + 4)] = 2
        out[s][_disk(shape, (32, 26), lv_r)] = 1
        out[s][_disk(shape, (32, 50), lv_r - 2) & (out[s] == 0)] = 3
    return out


def _write(path, data: np.ndarray, spacing=None, vector: bool = False):
    image = sitk.GetImageFromArray(data, isVector=vector)
    if spacing is not None:
        image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


def _stack_image(labels: np.ndarray) -> np.ndarray:
    """An int16 MR-like stack (S, H, W) whose grey levels follow the labels (16-bit: read as MR, not echo)."""
    noise = np.random.default_rng(0).integers(0, 20, labels.shape)
    return (labels.astype(np.int16) * 300 + 100 + noise).astype(np.int16)


def _patch_nifti(path, *, xyzt_units: int | None = None, qform: int | None = None, sform: int | None = None):
    """Set NIfTI-1 header fields of an uncompressed .nii in place (xyzt_units: byte 123; qform_code, sform_code:
    int16 at 252, 254)."""
    data = bytearray(path.read_bytes())
    assert struct.unpack("<i", data[:4])[0] == 348
    if xyzt_units is not None:
        data[123] = xyzt_units
    if qform is not None:
        data[252:254] = struct.pack("<h", qform)
    if sform is not None:
        data[254:256] = struct.pack("<h", sform)
    path.write_bytes(bytes(data))


def _assert_unset(rec, why: str) -> None:
    assert not rec.calibrated and rec.spacing_mm == (1.0, 1.0)
    notes = [n for n in rec.reader_notes if NOTE in n]
    assert len(notes) == 1 and why in notes[0] and FIX in notes[0], rec.reader_notes
    assert "volumes and mass are not computed" in notes[0]


# -- the reviewer's case: SimpleITK without SetSpacing ---------------------------------------------------------
def test_a_short_axis_stack_written_without_its_spacing_is_read_uncalibrated_with_a_note(tmp_path):
    path = _write(tmp_path / "p_ed_nospace.nii.gz", _stack_image(_labels(12, 9)))
    rec = load_recording(path)
    assert rec.modality == "mri" and rec.frames.shape == (9, 1, 64, 64)
    _assert_unset(rec, "short-axis cine slices are 5-10 mm apart")
    assert rec.slice_spacing_mm is None  # not the header's 1.0 mm
    assert "calibrate a known length" not in rec.reader_notes[0]  # a calibrated length gives no slice spacing


def test_info_says_not_calibrated_and_why(tmp_path, capsys):
    path = _write(tmp_path / "p_ed_nospace.nii.gz", _stack_image(_labels(12, 9)))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "calibrated:      no" in out and "slice spacing:   -" in out
    assert f"note:            {NOTE}" in out and FIX in out
    assert main(["info", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["calibrated"] is False and summary["slice_spacing_mm"] is None
    assert any(NOTE in n for n in summary["reader_notes"])


def test_the_same_stack_with_its_spacing_stays_calibrated(tmp_path):
    path = _write(tmp_path / "p_ed_space.nii.gz", _stack_image(_labels(12, 9)), (1.5, 1.4, 10.0))
    rec = load_recording(path)
    assert rec.calibrated and rec.spacing_mm == pytest.approx((1.4, 1.5))
    assert rec.slice_spacing_mm == pytest.approx(10.0) and rec.reader_notes == ()


def _analyze(capsys, tmp_path, spacing, name: str):
    """analyze --json of an ED/ES pair of 3D files (one phase each) with their labels (no network)."""
    paths, label_paths = [], []
    for phase, radius in (("ed", 12), ("es", 8)):
        labels = _labels(radius, 6)
        paths.append(_write(tmp_path / f"{name}_{phase}.nii.gz", _stack_image(labels), spacing))
        label_paths.append(_write(tmp_path / f"{name}_{phase}_gt.nii.gz", labels, spacing))
    code = main(["analyze", *map(str, paths), "--labels", str(label_paths[0]), "--labels", str(label_paths[1]),
                 "--same-patient", "--no-strain", "--json", "-"])
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_gives_no_volume_or_mass_for_a_stack_without_its_spacing(tmp_path, capsys):
    """Before: EDV of a few ml (voxel counts taken as mm^3), mass likewise, each flagged low."""
    code, out, err = _analyze(capsys, tmp_path, None, "nospace")
    if code == 0:  # an analysis that still runs uncalibrated gives no volume or mass
        result = json.loads(out)
        assert not result["calibrated"]
        for key in ("edv_ml", "esv_ml", "lv_mass_g", "myocardial_mass_g", "rv_edv_ml"):
            assert result[key] is None, key
    else:  # or refuses the stack: slice summation needs the slice spacing the file lacks
        assert code == 2 and not out.strip() and "no slice spacing" in err


def test_analyze_of_the_same_stack_with_its_spacing_gives_its_volume(tmp_path, capsys):
    code, out, _ = _analyze(capsys, tmp_path, (1.5, 1.5, 10.0), "space")
    assert code == 0
    result = json.loads(out)
    expected_ml = 6 * float(_disk((64, 64), (32, 26), 12).sum()) * 1.5 * 1.5 * 10.0 / 1000.0
    assert result["calibrated"] and result["edv_ml"] == pytest.approx(expected_ml, rel=0.1)
    assert result["lv_mass_g"] is not None and result["lv_mass_g"] > 20


# -- what the header says (rule a) -----------------------------------------------------------------------------
def test_pixdim_1_in_no_stated_unit_is_unset(tmp_path):
    """nibabel's default (no affine or the identity): pixdim 1 with xyzt_units 0; it was uncalibrated without a word."""
    path = _write(tmp_path / "sax.nii", _stack_image(_labels(12, 48)))
    _patch_nifti(path, xyzt_units=0)
    _assert_unset(load_recording(path), "in no stated unit")


def test_pixdim_1_with_neither_qform_nor_sform_is_unset_whatever_the_units(tmp_path):
    """48 slices 1 mm apart would pass as a real isotropic volume: the header's lack of a qform and sform says
    nothing sized these voxels."""
    path = _write(tmp_path / "sax.nii", _stack_image(_labels(12, 48)))
    _patch_nifti(path, qform=0, sform=0)
    _assert_unset(load_recording(path), "neither a qform nor an sform")


def test_a_set_spacing_without_qform_or_sform_stays_calibrated(tmp_path):
    path = _write(tmp_path / "sax.nii", _stack_image(_labels(12, 6)), (1.5, 1.5, 8.0))
    _patch_nifti(path, qform=0, sform=0)
    rec = load_recording(path)
    assert rec.calibrated and rec.spacing_mm == pytest.approx((1.5, 1.5)) and rec.slice_spacing_mm == 8.0


def test_a_1mm_isotropic_volume_that_says_mm_and_covers_a_heart_stays_calibrated(tmp_path):
    """Units mm, qform and sform set, 48 slices of 1 mm (48 mm: a real isotropic volume, not a default)."""
    path = _write(tmp_path / "iso.nii.gz", _stack_image(_labels(12, 48)), (1.0, 1.0, 1.0))
    rec = load_recording(path)
    assert rec.calibrated and rec.spacing_mm == (1.0, 1.0) and rec.slice_spacing_mm == pytest.approx(1.0)
    assert rec.reader_notes == ()


# -- every pixdim the default, a time axis included (rule b) ---------------------------------------------------
def test_a_4d_cine_whose_every_pixdim_is_1_is_unset(tmp_path):
    labels = np.stack([_labels(12, 5), _labels(8, 5)])  # (T, S, H, W)
    path = _write(tmp_path / "cine_4d.nii.gz", _stack_image(labels), vector=False)
    rec = load_recording(path)
    assert rec.frames.shape == (5, 2, 64, 64)
    _assert_unset(rec, "a 1 s frame step")


def test_an_echo_clip_whose_every_pixdim_is_1_is_unset_and_one_with_its_spacing_is_not(tmp_path):
    frames = np.random.default_rng(2).integers(0, 255, (8, 64, 64), dtype=np.uint8)
    rec = load_recording(_write(tmp_path / "clip_a4c.nii.gz", frames))
    assert rec.modality == "echo"
    _assert_unset(rec, "a 1 s frame step")
    assert "or calibrate a known length" in rec.reader_notes[0]
    timed = load_recording(_write(tmp_path / "timed_a4c.nii.gz", frames, (1.0, 1.0, 0.02)))
    assert timed.calibrated and timed.spacing_mm == (1.0, 1.0) and timed.reader_notes == ()


def test_a_metaimage_without_element_spacing_says_why_it_is_uncalibrated(tmp_path):
    path = _write(tmp_path / "sax.mhd", _stack_image(_labels(12, 6)))
    assert "ElementSpacing = 1 1 1" in path.read_text(encoding="latin-1")
    _assert_unset(load_recording(path), "the default when none is written")
