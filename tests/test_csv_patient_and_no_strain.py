"""Three defects an echocardiographer found in `analyze ... --csv` and the PDF:

1. the CSV had no sex, age, height or weight, though its BSA, indexed values and flags rest on them (page 1 and the
   measurements JSON give them): a CSV read alone could not tell which ranges or which BSA applied;
2. the CSV study row's `method` joined every study value's method ("biplane ...; disks, biplane; ..."), where on a
   recording row it is the EF's: it now is the EF's on both, the LA volume's in its own column;
3. `--no-strain` still printed "GLS ... not computed" and "Longitudinal strain: not computed", as if the strain
   had failed: the GLS rows are left out and the report says the strain was not requested.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from report_fixtures import synthetic_analysis, synthetic_labels, synthetic_recording

from app.data.recording import PatientInfo
from app.report import exports
from app.report.build import report_from_analyses

PATIENT = PatientInfo(name="Doe^Jane", patient_id="CT-0042", birth_date="19600102", sex="F", study_date="20261120",
                      institution="Test Hospital", height_cm=165.0, weight_kg=60.0)


def _csv_rows(report, path: Path) -> list[dict]:
    return list(csv.DictReader(exports.write_measurements_csv(report, path).open(encoding="utf-8")))


def _two_views(patient: PatientInfo = PATIENT) -> list:
    views = [synthetic_analysis(view=v, seed=i, n_frames=24, path=Path(f"/study/{v}.dcm"))
             for i, v in enumerate(("a4c", "a2c"))]
    return [replace(a, recording=replace(a.recording, patient=patient)) for a in views]


def test_the_csv_gives_the_sex_age_height_and_weight_page_one_prints_also_anonymised(tmp_path):
    from app.workflow.study_result import compose_study

    views = _two_views()
    for anonymise in (False, True):
        report = report_from_analyses(views, study=compose_study(views).measurements, anonymise=anonymise)
        rows = _csv_rows(report, tmp_path / "m.csv")
        kept = [r for r in rows if r["row_type"] in ("recording", "study")]
        assert {r["row_type"] for r in kept} == {"recording", "study"}
        for row in kept:  # as page 1 prints them, anonymised or not (DICOM PS3.15: patient characteristics)
            assert (row["sex"], row["age_years"], row["height_cm"], row["weight_kg"]) == ("F", "66", "165.0", "60.0")
        assert all(r["sex"] == r["age_years"] == r["height_cm"] == "" for r in rows if r["row_type"] == "beat")
        assert exports.measurements_dict(report)["patient"]["age_years"] == 66
    unknown = report_from_analyses([synthetic_analysis()], anonymise=True)
    unknown = replace(unknown, patient=PatientInfo(), age_years=None)
    row = _csv_rows(unknown, tmp_path / "u.csv")[0]
    assert (row["sex"], row["age_years"], row["height_cm"], row["weight_kg"]) == ("", "", "", "")


def test_the_csv_study_method_is_the_ef_method_and_the_la_volume_has_its_own(tmp_path):
    from app.workflow.study_result import compose_study

    views = _two_views()
    report = report_from_analyses(views, study=compose_study(views).measurements)
    by_key = {r.key: r for r in report.study_rows}
    assert "la_volume_ml" in by_key and "ef_pct" in by_key
    rows = _csv_rows(report, tmp_path / "m.csv")
    study = next(r for r in rows if r["row_type"] == "study")
    assert study["method"] == by_key["ef_pct"].method == "disks, biplane"
    assert study["la_volume_method"] == by_key["la_volume_ml"].method and "area-length" in study["la_volume_method"]
    recording = next(r for r in rows if r["row_type"] == "recording")
    ef_method = next(r.method for r in report.recordings[0].measurements if r.key == "ef_pct")
    assert recording["method"] == ef_method and recording["la_volume_method"] == ""


def test_no_strain_says_not_requested_rather_than_not_computed(tmp_path):
    """From the command line (--no-strain) to the PDF rows, its figure page, the measurements JSON; a strain asked
    for and failed still says "not computed" (tests/test_report_pdf.py::test_strain_failure_is_reported_not_fatal)."""
    from pypdf import PdfReader

    from app.cli import main
    from app.data.writers import write_recording

    labels = synthetic_labels(24)
    clip = write_recording(synthetic_recording(labels, patient=PATIENT), tmp_path / "a4c.dcm")
    np.save(tmp_path / "labels.npy", labels)
    out = {kind: tmp_path / f"out.{kind}" for kind in ("pdf", "csv", "json")}
    assert main(["analyze", str(clip), "--view", "a4c", "--labels", str(tmp_path / "labels.npy"), "--no-strain",
                 "--report", str(out["pdf"]), "--csv", str(out["csv"]), "--measurements", str(out["json"])]) == 0
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(out["pdf"])).pages).split())
    assert "Longitudinal strain: not requested." in text and "strain was not requested" in text
    assert "GLS" not in text and "Longitudinal strain: not computed" not in text
    rec = json.loads(out["json"].read_text(encoding="utf-8"))["recordings"][0]
    assert rec["strain_requested"] is False and rec["strain_computed"] is False
    assert "gls_pct" not in rec["measurements"]
    asked = report_from_analyses([synthetic_analysis()])  # asked for, none: the row and words say "not computed"
    gls = next(r for r in asked.recordings[0].measurements if r.key == "gls_pct")
    assert gls.text == "not computed" and asked.recordings[0].strain_requested
