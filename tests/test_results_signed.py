"""Issue 54 item 2: the report that leaves is the report that was signed.

The viewer's *Send results to PACS* built its DICOM results from a report of its own: no conclusion, no
reviewer, no hand-edit note, and an LA volume from other contours than the PDF saved from the same window.
Now it sends `study_report(study)`, the PDF the user saves; an unsigned study leaves as preliminary and
says so; each results series says when it was made and whether it amends one sent before."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from report_fixtures import analyze_with_labels

from app.data.readers import load_recording
from app.report.dicom_pdf import pdf_bytes
from app.report.dicom_sr import numeric_values, person_name, series_description
from app.report.from_study import study_report, study_results, write_study_report

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
CONCLUSION = "Normal LV size and systolic function. No regional wall motion abnormality."
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}( [A-Z]{2,5})?")


def _study():
    """The demo exam's A4C and A2C (DICOM, one patient) with their truth labels, and one hand edit on the A4C's
    ED endocardium: biplane, LA volume and an edited value."""
    from app.workflow.study import StudyState

    study = StudyState()
    for view in ("a4c", "a2c"):
        recording = load_recording(DEMO / f"{view}.dcm")
        labels = np.load(DEMO / f"{view}.truth.npz")["labels"]
        study.set_analysis(study.add_recording(recording), analyze_with_labels(recording, labels))
    st = study[0]
    key = (0, st.ed_frames[0])
    endo = st.contour(key, "endo")
    centre = endo.points_px.mean(axis=0)
    study.set_contour(0, key, "endo", endo.with_points(centre + (endo.points_px - centre) * 1.05))
    return study


def _text(pdf: bytes | Path) -> str:
    from io import BytesIO

    source = BytesIO(pdf) if isinstance(pdf, bytes) else str(pdf)
    return " ".join(" ".join(p.extract_text() for p in PdfReader(source).pages).split())


def test_the_sent_pdf_is_the_signed_report_and_the_sr_is_verified(tmp_path):
    study = _study()
    study.set_conclusion(CONCLUSION, "Jane Smith")
    saved = _text(write_study_report(study, tmp_path / "saved.pdf"))
    results = study_results(study)
    sent = _text(pdf_bytes(results.pdf))
    assert CONCLUSION in sent and "Jane Smith" in sent and "Contours corrected by hand in A4C" in sent
    assert "(no conclusion written)" not in sent
    assert TIME.sub("", sent) == TIME.sub("", saved)  # the same page 1, numbers and all, but for the time
    sr = results.sr
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == ("COMPLETE", "VERIFIED", "FINAL")
    assert sr.VerifyingObserverSequence[0].VerifyingObserverName == "Smith^Jane"
    report = study_report(study)
    rows = {row.key: row for _, row in report.all_rows}
    assert rows["edv_ml"].edited and rows["la_volume_ml"].value is not None
    values = numeric_values(sr)
    assert any(v == pytest.approx(rows["edv_ml"].value, abs=1e-9) for v in values["18026-5"])  # the edited EDV
    assert values["399235004"] == [pytest.approx(rows["la_volume_ml"].value, abs=1e-9)]  # LA volume, as printed
    for ds in results.datasets:
        assert "signed" in ds.SeriesDescription and TIME.search(ds.SeriesDescription), ds.SeriesDescription
    # the time the results say they were made is the one their PDF prints (a report composed again for this test
    # may fall in the next second)
    assert results.signed_by == "Jane Smith" and results.made == TIME.search(sent).group(0)[:19]


def test_an_unsigned_study_leaves_as_preliminary_and_says_so():
    study = _study()
    study.set_conclusion(CONCLUSION, "")
    results = study_results(study)
    assert (results.sr.VerificationFlag, results.sr.PreliminaryFlag) == ("UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in results.sr
    assert all("preliminary" in ds.SeriesDescription for ds in results.datasets)
    assert "Preliminary, not signed" in _text(pdf_bytes(results.pdf))
    assert results.record().signed_by == ""


def test_a_second_send_amends_the_first_and_the_study_remembers_it(tmp_path):
    from app.workflow.study import StudyState

    study = _study()
    first = study_results(study)
    study.record_sent(first.record())
    study.set_conclusion(CONCLUSION, "Jane Smith")
    second = study_results(study)
    item = second.sr.PredecessorDocumentsSequence[0]
    assert item.StudyInstanceUID == first.sr.StudyInstanceUID
    assert item.ReferencedSeriesSequence[0].SeriesInstanceUID == first.sr.SeriesInstanceUID
    assert item.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == first.sr.SOPInstanceUID
    assert "amends" in second.sr.SeriesDescription and second.sr.SeriesDescription != first.sr.SeriesDescription
    # the first send named to the second, as its own description and PDF give it: sends of one minute differ
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", first.made) and first.made in first.sr.SeriesDescription
    assert second.sr.SeriesDescription.endswith(f", amends {first.made[11:]}")
    assert f"amends the results of {first.made}" in _text(pdf_bytes(second.pdf))
    assert "PredecessorDocumentsSequence" not in first.sr

    restored = StudyState()  # the autosave keeps what was sent, so a reopened study amends it too
    for st in study.recordings:
        restored.add_recording(st.recording)
    restored.restore_json(0, study.to_json(0))
    assert restored.sent == (first.record(),)
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed")
    for name, ds in (("first", first.sr), ("second", second.sr)):
        path = tmp_path / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
        assert not errors, "\n".join(errors)


def test_series_descriptions_fit_dicom_and_names_become_person_names():
    from dataclasses import replace

    from app.data.recording import PatientInfo
    from app.report.model import ReportData

    report = ReportData(patient=PatientInfo(), anonymised=False, recordings=(), created="2026-11-27 23:50:41 UTC")
    assert series_description("SEG", report) == "CardioTrace SEG 2026-11-27 23:50:41 preliminary"
    signed = replace(report, reviewer="Jane Smith", amends="2026-11-27 23:10:05")
    assert series_description("PDF", signed) == "CardioTrace PDF 2026-11-27 23:50:41 signed, amends 23:10:05"
    older = replace(report, amends="2026-11-26 08:05:00")
    assert series_description("SEG", replace(older, reviewer="Jane Smith")) == (
        "CardioTrace SEG 2026-11-27 23:50:41 signed, amends 2026-11-26")
    # preliminary, the date would not fit in DICOM's 64 characters: the day without its year (not "amends 2026-11-")
    assert series_description("SEG", older) == "CardioTrace SEG 2026-11-27 23:50:41 preliminary, amends 11-26"
    same_minute = replace(report, amends="2026-11-27 23:50:12")
    assert series_description("SEG", same_minute) == "CardioTrace SEG 2026-11-27 23:50:41 preliminary, amends 23:50:12"
    assert all(len(series_description(kind, r)) <= 64 for kind in ("SR", "SEG", "PDF")
               for r in (report, signed, older, same_minute))
    # results sent before the seconds were given are named to the minute, as their own description said
    assert series_description("SR", replace(report, amends="2026-11-27 23:10")).endswith("amends 23:10")
    assert replace(report, created="2026-11-27 23:50 UTC").made == "2026-11-27 23:50"
    # a title is the name's prefix, a degree its suffix (not a given name: "Dr QA" had become "QA^Dr")
    assert person_name("Dr Jane  Smith") == "Smith^Jane^^Dr" and person_name("SMITH^JANE") == "SMITH^JANE"
    assert person_name("Dr QA") == "QA^^^Dr" and person_name("Dr. Jane Smith MD") == "Smith^Jane^^Dr.^MD"
    assert person_name("Smith") == "Smith^"


def test_two_sends_of_one_minute_say_which_they_amend():
    """Three sends between 23:50:00 and 23:50:59: each series is named by its second, the later two amending the
    one before (to the minute, both had read "23:50 ..., amends 23:50")."""
    from dataclasses import replace

    from app.data.recording import PatientInfo
    from app.report.model import ReportData

    sends = ["2026-11-27 23:50:05 UTC", "2026-11-27 23:50:31 UTC", "2026-11-27 23:50:58 UTC"]
    reports = [ReportData(patient=PatientInfo(), anonymised=False, recordings=(), created=sends[0])]
    for created in sends[1:]:
        reports.append(replace(reports[0], created=created, amends=reports[-1].made))
    described = [series_description("SR", r) for r in reports]
    assert described == ["CardioTrace SR 2026-11-27 23:50:05 preliminary",
                         "CardioTrace SR 2026-11-27 23:50:31 preliminary, amends 23:50:05",
                         "CardioTrace SR 2026-11-27 23:50:58 preliminary, amends 23:50:31"]
    assert [r.status_text.split("; ")[1] for r in reports[1:]] == [  # the PDF's page 1
        "amends the results of 2026-11-27 23:50:05", "amends the results of 2026-11-27 23:50:31"]


def test_a_source_with_a_malformed_uid_gives_results_without_library_warnings(tmp_path):
    """Issue 54: pydicom's "Invalid value for VR UI" about the source's own UIDs (which the results must copy as
    stored) reached stderr on a successful run. Run as a user does, in a process of its own."""
    import sys

    import pydicom

    ds = pydicom.dcmread(DEMO / "a4c.dcm")
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):  # what other software wrote
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.012345"  # a component with a leading zero
        ds.save_as(tmp_path / "a4c.dcm")
    done = subprocess.run([sys.executable, "-m", "app", "analyze", str(tmp_path / "a4c.dcm"), "--labels",
                           str(DEMO / "a4c.truth.npz"), "--no-strain", "--dicom-out", str(tmp_path / "out"),
                           "--json", str(tmp_path / "r.json")], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Invalid value" not in done.stderr, done.stderr
    sr = pydicom.dcmread(next((tmp_path / "out").glob("sr-*.dcm")))
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):
        assert sr.StudyInstanceUID == ds.StudyInstanceUID  # copied as the archive stores it


def test_the_biplane_and_la_indexed_to_bsa_leave_coded_in_the_sr(tmp_path):
    """With the patient's height and weight the report prints the BSA and the biplane EDV, ESV and LA volume per
    BSA; the SR carried none of them (no concept). LOINC codes them for the biplane; a single view's indexed values
    have no code and stay in the PDF."""
    study = _study()
    study.set_body_size(0, 172.0, 70.0)
    report = study_report(study)
    rows = {row.key: row for row in report.study_rows}
    assert {"edv_index_ml_m2", "esv_index_ml_m2", "la_volume_index_ml_m2"} <= set(rows)
    sr = study_results(study).sr
    values = numeric_values(sr)
    assert values["79997-3"] == [pytest.approx(rows["edv_index_ml_m2"].value, abs=1e-9)]
    assert values["80002-9"] == [pytest.approx(rows["esv_index_ml_m2"].value, abs=1e-9)]
    assert values["79982-5"] == [pytest.approx(rows["la_volume_index_ml_m2"].value, abs=1e-9)]
    assert values["8277-6"] and all(v == pytest.approx(rows["bsa_m2"].value, abs=1e-9) for v in values["8277-6"])
    assert float(sr.PatientSize) == pytest.approx(1.72) and float(sr.PatientWeight) == pytest.approx(70.0)
    single = {row.key for row in report.recordings[0].measurements} & {"edv_index_ml_m2", "esv_index_ml_m2"}
    assert single and len(values["79997-3"]) == 1  # the A4C's own indexed EDV (monoplane) has no LOINC code
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed")
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
    assert not errors, "\n".join(errors)
