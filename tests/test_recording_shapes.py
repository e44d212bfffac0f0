"""Every echo recording shape gives what it can (issue 30): a 2-frame ED/ES pair gives EDV/ESV/EF, one still
frame its contours, area and volume, and `--view a4c` makes a 3D NIfTI an echo clip whatever its name.

Built from a real CAMUS patient (ED and ES frames with the expert's labels) written as NIfTI in a tmp dir.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from app.cli import main
from app.data.readers import load_recording

CAMUS_VALID = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "camus_a4c" / "valid"
pytestmark = pytest.mark.skipif(not CAMUS_VALID.is_dir(), reason="../shared/data/camus_a4c is absent")


def _patient():
    with np.load(sorted(CAMUS_VALID.glob("*.npz"))[0]) as z:
        return {k: z[k] for k in z.files}


def _write(path: Path, frames: np.ndarray, spacing_mm) -> Path:
    """(T, H, W) float32 frames as NIfTI (x, y, t); float voxels and a neutral name: nothing says echo."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(frames, dtype=np.float32))
    image.SetSpacing((float(spacing_mm[1]), float(spacing_mm[0]), 1.0))
    sitk.WriteImage(image, str(path))
    return path


def _analyze(capsys, *args) -> tuple[int, dict]:
    code = main(["analyze", *map(str, args), "--no-strain", "--json", "-"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if code == 0 else {})


@pytest.fixture(scope="module")
def camus():
    return _patient()


def test_view_makes_a_3d_nifti_an_echo_clip(tmp_path, camus):
    path = _write(tmp_path / "pair.nii.gz", np.stack([camus["ed"], camus["es"]]), camus["spacing_mm"])
    assert load_recording(path).modality == "mri"  # float 3D without an echo name: MR slices
    rec = load_recording(path, echo=True)
    assert rec.modality == "echo" and not rec.is_stack and rec.n_frames == 2


@pytest.mark.parametrize("order", ["ed_es", "es_ed"])
def test_an_ed_es_pair_gives_edv_esv_ef(tmp_path, capsys, camus, order):
    """The expert's labels as the segmentation: ED is the larger LV in either order, and EF is the expert's."""
    frames, labels = np.stack([camus["ed"], camus["es"]]), np.stack([camus["ed_gt"], camus["es_gt"]])
    if order == "es_ed":
        frames, labels = frames[::-1], labels[::-1]
    path = _write(tmp_path / "pair.nii.gz", frames, camus["spacing_mm"])
    np.savez_compressed(tmp_path / "pair.labels.npz", labels=labels)
    code, out = _analyze(capsys, path, "--view", "a4c", "--labels", tmp_path / "pair.labels.npz")
    assert code == 0 and out["modality"] == "echo" and out["frames"] == 2
    ed = 0 if order == "ed_es" else 1
    assert out["ed_frames"] == [ed] and out["es_frames"] == [1 - ed]
    vol = out["volume_curve_ml"]
    assert out["edv_ml"] == pytest.approx(vol[ed], abs=0.01) and out["esv_ml"] == pytest.approx(vol[1 - ed], abs=0.01)
    assert out["ef_pct"] == pytest.approx(100 * (vol[ed] - vol[1 - ed]) / vol[ed], abs=0.05)
    assert 20 < out["ef_pct"] < 80
    assert any("ED/ES pair" in n for n in out["notes"])
    assert not any("no cardiac cycle" in n or "filling phase" in n for n in out["notes"])


def test_an_ed_es_pair_through_the_network(tmp_path, capsys, camus):
    """The default segmentation network on the pair: exit 0 and an EF."""
    path = _write(tmp_path / "pair.nii.gz", np.stack([camus["ed"], camus["es"]]), camus["spacing_mm"])
    code, out = _analyze(capsys, path, "--view", "a4c")
    assert code == 0 and out["ed_frames"] == [0] and out["es_frames"] == [1]
    assert out["ef_pct"] is not None and out["edv_ml"] > out["esv_ml"] > 0


def test_one_still_frame_gives_contours_area_and_volume(tmp_path, capsys, camus):
    path = _write(tmp_path / "still.nii.gz", camus["ed"][None], camus["spacing_mm"])
    contours = tmp_path / "still.contours.json"
    code, out = _analyze(capsys, path, "--view", "a4c", "--contours", contours)
    assert code == 0 and out["frames"] == 1
    assert out["ef_pct"] is None and out["ed_frames"] == [] and out["beats"] == []
    assert out["area_curve_mm2"][0] > 500 and out["volume_curve_ml"][0] > 10
    assert any(n.startswith("one still frame") and "ml" in n for n in out["notes"])
    assert contours.is_file() and contours.stat().st_size > 100
