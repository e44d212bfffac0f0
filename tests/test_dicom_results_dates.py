"""DICOM results (SR, SEG, encapsulated PDF) of a source whose dates no calendar has: anonymised and research data
hold placeholders (Sunnybrook's birth date 00000000, a study date 20120000), which highdicom could not parse and
`analyze --dicom-out` / `--send` failed with an internal error. The results carry them empty (unknown)."""

from __future__ import annotations

import shutil

import pydicom
import pytest

from app.cli import main
from tests.orthanc_fixtures import DEMO


@pytest.mark.parametrize("birth, study, time", [("00000000", "20250100", "251000"), ("19700230", "2025", "")])
def test_results_of_a_source_with_impossible_dates_are_written_with_them_empty(tmp_path, capsys, birth, study, time):
    clip = tmp_path / "a4c.dcm"
    shutil.copy(DEMO / "a4c.dcm", clip)
    ds = pydicom.dcmread(clip)
    ds.PatientBirthDate, ds.StudyDate, ds.StudyTime = birth, study, time
    ds.save_as(clip)
    out = tmp_path / "dicom"
    code = main(["analyze", str(clip), "--labels", str(DEMO / "a4c.truth.npz"), "--no-strain", "--dicom-out",
                 str(out)])
    assert code == 0, capsys.readouterr().err
    written = {p.name.split("-")[0]: pydicom.dcmread(p) for p in out.glob("*.dcm")}
    assert set(written) == {"sr", "seg", "doc"}
    for result in written.values():
        assert result.PatientBirthDate == "" and result.StudyDate == ""
        assert result.PatientID == ds.PatientID and result.StudyInstanceUID == ds.StudyInstanceUID


def test_valid_dates_are_copied_as_they_are(tmp_path, capsys):
    out = tmp_path / "dicom"
    assert main(["analyze", str(DEMO / "a4c.dcm"), "--labels", str(DEMO / "a4c.truth.npz"), "--no-strain",
                 "--dicom-out", str(out)]) == 0
    source = pydicom.dcmread(DEMO / "a4c.dcm")
    sr = pydicom.dcmread(next(out.glob("sr-*.dcm")))
    assert sr.StudyDate == source.StudyDate and str(sr.get("PatientBirthDate", "")) == str(
        source.get("PatientBirthDate", ""))
