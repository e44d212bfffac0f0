"""Results as DICOM for a short-axis MRI stack with the right ventricle: the SR carries RV volumes, SV and EF
(at the site "Right ventricle", referencing the ED / ES frames), the SEG an RV segment equal to label 3 of the
masks; both valid by dciodvfy. An ACDC patient's expert labels are the segmentation (analyze --labels)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from app.cli import main
from app.report.dicom_seg import segment_masks
from app.report.dicom_sr import numeric_values
from lab.data import acdc


def _errors(path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def test_mri_stack_sr_and_seg_carry_the_right_ventricle(shared_data, tmp_path, capsys):
    from app.data.readers import load_recording
    from app.data.writers.dicom_mr import write_mr_series

    patient = acdc.load_patient(shared_data / "acdc", "patient001")
    image, _ = acdc.write_nifti(patient, tmp_path / "p.nii.gz", tmp_path / "p_l.nii.gz")
    folder = write_mr_series(load_recording(image), tmp_path / "dicom")
    labels = np.moveaxis(patient.labels, 0, 1)  # (S, T, H, W), base first as written
    np.save(tmp_path / "labels.npy", labels)
    out = tmp_path / "results"
    code = main(["analyze", str(folder), "--labels", str(tmp_path / "labels.npy"), "--no-strain",
                 "--json", str(tmp_path / "r.json"), "--dicom-out", str(out)])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "r.json").read_text())
    sr = pydicom.dcmread(next(out.glob("sr-*.dcm")))
    seg = pydicom.dcmread(next(out.glob("seg-*.dcm")))
    values = numeric_values(sr)
    assert values["429483009"][0] == pytest.approx(result["rv_sv_ml"], abs=0.1)  # RV stroke volume
    assert values["8822-9"] == pytest.approx([result["rv_edv_ml"]], abs=0.1)  # RV ED volume, named as such
    assert values["8824-5"] == pytest.approx([result["rv_esv_ml"]], abs=0.1)  # and the ES volume
    assert result["rv_ef_pct"] == pytest.approx(patient.reference.rv_ef_pct, abs=0.2)  # exact labels
    assert values["8818-7"] == pytest.approx([result["rv_ef_pct"]], abs=0.1)  # RV EF by MR
    masks = segment_masks(seg, "mri")
    assert np.array_equal(masks[3], (labels == 3).reshape(-1, *labels.shape[2:]))
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed")
    for path in (next(out.glob("sr-*.dcm")), next(out.glob("seg-*.dcm"))):
        assert not _errors(path), path
