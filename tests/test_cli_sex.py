"""`analyze --sex F|M`: the patient's sex typed on the command line (a NIfTI, MetaImage or AVI has none, an
anonymised DICOM may have none), overriding the file's PatientSex as --height-cm / --weight-kg override its
PatientSize / PatientWeight. The normal ranges are sex-specific (app/workflow/reference_ranges.py): without a sex each
spans both sexes', so a woman's LV mass of 161 g (women's CMR range 56-140 g, men's 92-176) went unflagged.

The recording: a 6-slice short-axis cine (3 mm pixels) whose label map gives EDV 190 ml and LV mass 161.5 g, both
above the women's ranges and within the union of both sexes'."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.data.recording import PatientInfo, Recording, uniform_frame_times
from app.data.writers import write_recording
from tests.test_mri_stack_shapes import _phase_labels

N_FRAMES = 8


def _cine(tmp_path: Path, fmt: str = "dcm", sex: str = "") -> tuple[Path, Path]:
    """(the recording's file or DICOM folder, its label map .npy): LV and RV pools shrinking to ES at phase 4."""
    phases = []
    for t in range(N_FRAMES):
        p = 1 + np.cos(2 * np.pi * t / N_FRAMES)  # 2 at ED (t = 0), 0 at ES
        phases.append(_phase_labels(8 + 2 * p, 6 + 2 * p, n_slices=6))
    labels = np.stack(phases, axis=1)
    rec = Recording(frames=(labels * 60).astype(np.uint16), frame_times_s=uniform_frame_times(N_FRAMES, 25.0),
                    modality="mri", view="sax", spacing_mm=(3.0, 3.0), calibrated=True, slice_spacing_mm=8.0,
                    patient=PatientInfo(patient_id="P1", sex=sex))
    path = write_recording(rec, tmp_path / ("dicom" if fmt == "dcm" else "cine.nii.gz"))
    np.save(tmp_path / "labels.npy", labels)
    return path, tmp_path / "labels.npy"


def _rows(measurements_json: Path) -> tuple[dict, dict]:
    """(the patient, the first recording's rows by key) of a --measurements file: the report's data as printed."""
    data = json.loads(measurements_json.read_text(encoding="utf-8"))
    return data["patient"], data["recordings"][0]["measurements"]


def test_sex_given_on_the_command_line_flags_by_that_sex_in_every_output(tmp_path, capsys):
    """A DICOM series without PatientSex (as anonymised): LV mass 161.5 g and EDV 190 ml unflagged (both sexes'
    ranges); with --sex F high in the report's rows, --measurements, --csv and the PDF, and the JSON and the DICOM
    results (SR, SEG, PDF) say F."""
    import pydicom
    from pypdf import PdfReader

    folder, labels = _cine(tmp_path)
    base = ["analyze", str(folder), "--labels", str(labels), "--no-strain"]
    assert main([*base, "--measurements", str(tmp_path / "none.json")]) == 0
    patient, rows = _rows(tmp_path / "none.json")
    assert patient["sex"] == "" and rows["lv_mass_g"]["value"] == pytest.approx(161.5, abs=0.1)
    assert (rows["lv_mass_g"]["reference"], rows["lv_mass_g"]["flag"]) == ("56-176 g", "")
    assert (rows["edv_ml"]["reference"], rows["edv_ml"]["flag"]) == ("86-214 ml", "")

    out = {"json": tmp_path / "r.json", "measurements": tmp_path / "m.json", "csv": tmp_path / "m.csv",
           "report": tmp_path / "r.pdf", "dicom-out": tmp_path / "dicom_results"}
    assert main([*base, "--sex", "F", *(a for k, v in out.items() for a in (f"--{k}", str(v)))]) == 0
    capsys.readouterr()
    assert json.loads(out["json"].read_text(encoding="utf-8"))["sex"] == "F"
    patient, rows = _rows(out["measurements"])
    assert patient["sex"] == "F"
    assert (rows["lv_mass_g"]["reference"], rows["lv_mass_g"]["flag"]) == ("56-140 g", "high")
    assert (rows["edv_ml"]["reference"], rows["edv_ml"]["flag"]) == ("86-178 ml", "high")
    row = next(r for r in csv.DictReader(out["csv"].open(encoding="utf-8")) if r["row_type"] == "recording")
    assert {"lv_mass_g:high", "edv_ml:high"} <= set(row["flags"].split())
    page1 = " ".join(PdfReader(str(out["report"])).pages[0].extract_text().split())
    assert "56-140" in page1 and "sex is not given" not in page1
    results = [pydicom.dcmread(p) for p in sorted(out["dicom-out"].glob("*.dcm"))]
    assert sorted(str(ds.Modality) for ds in results) == ["DOC", "SEG", "SR"]
    assert all(ds.PatientSex == "F" for ds in results)


def test_sex_given_overrides_the_files_as_a_typed_height_does(tmp_path, capsys):
    """The file says M (men's range 92-176 g: 161.5 g normal); `--sex female` (any case, the word or its letter)
    replaces it, as --height-cm replaces PatientSize."""
    folder, labels = _cine(tmp_path, sex="M")
    base = ["analyze", str(folder), "--labels", str(labels), "--no-strain", "--json", "-"]
    assert main([*base, "--measurements", str(tmp_path / "m.json")]) == 0
    assert json.loads(capsys.readouterr().out)["sex"] == "M"
    assert _rows(tmp_path / "m.json")[1]["lv_mass_g"]["reference"] == "92-176 g"
    assert main([*base, "--sex", "Female", "--measurements", str(tmp_path / "f.json")]) == 0
    assert json.loads(capsys.readouterr().out)["sex"] == "F"
    patient, rows = _rows(tmp_path / "f.json")
    assert patient["sex"] == "F" and rows["lv_mass_g"]["flag"] == "high"


def test_a_batch_takes_the_sex_given(tmp_path, monkeypatch):
    """`analyze --out DIR --sex F` on a NIfTI (which has no sex): the batch's analysis (analysis_options ->
    analyze_file -> load) and its exports carry F, as one study's do."""
    from app.workflow import analyze as analyze_module

    nifti, labels_path = _cine(tmp_path, fmt="nii")
    labels = np.load(labels_path)
    monkeypatch.setattr(analyze_module, "default_segmenter", lambda rec, *a, **k: (lambda r: labels, "labels"))
    out = tmp_path / "out"
    assert main(["analyze", str(nifti), "--out", str(out), "--exports", "json", "--no-strain", "--sex", "F"]) == 0
    (result,) = out.glob("*.result.json")
    record = json.loads(result.read_text(encoding="utf-8"))
    assert record["status"] == "ok", record["error"]
    assert record["analysis"]["sex"] == "F" and record["settings"]["analysis"]["sex"] == "F"
    patient, rows = _rows(result.with_name(result.name.replace(".result.json", ".json")))  # --exports json
    assert patient["sex"] == "F" and rows["lv_mass_g"]["flag"] == "high"


@pytest.mark.parametrize("value", ["X", "woman", ""])
def test_a_sex_that_is_not_f_or_m_is_one_line_and_exit_2(tmp_path, capsys, value):
    assert main(["analyze", str(tmp_path / "cine.nii.gz"), "--sex", value]) == 2  # refused before reading
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sex" in err[0] and "give F or M" in err[0], err
