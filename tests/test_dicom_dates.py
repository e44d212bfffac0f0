"""DICOM dates as people read them (app/data/dicom_dates.py), in the PDF header and the report's file name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.data.dicom_dates import display_date
from app.data.recording import PatientInfo


@pytest.mark.parametrize("da, shown", [
    ("20120315", "2012-03-15"),
    (" 19600102 ", "1960-01-02"),
    ("2012.03.15", "2012-03-15"),  # ACR-NEMA
    ("20120300", "2012-03"),  # anonymised: the day taken out
    ("20120000", "2012"),  # Sunnybrook's study dates
    ("00000000", ""),  # Sunnybrook's birth dates
    ("18000101", ""),  # a placeholder year
    ("20120231", ""),  # no such day
    ("20121300", ""),
    ("20120015", ""),
    ("2012", ""),
    ("", ""),
    (None, ""),
    ("unknown", ""),
])
def test_display_date(da, shown):
    assert display_date(da) == shown


def test_an_anonymised_date_is_shown_as_far_as_it_is_known_in_the_pdf_and_the_file_name(tmp_path):
    from report_fixtures import synthetic_analysis

    from app.report.build import report_from_analyses
    from app.report.pdf import write_pdf
    from app.report.plain_words import report_file_name

    analysis = synthetic_analysis(view="a4c", path=Path("/study/sb/a4c.dcm"))
    patient = PatientInfo(name="SCD0000501", patient_id="SCD0000501", birth_date="00000000", study_date="20120000")
    analysis = replace(analysis, recording=replace(analysis.recording, patient=patient))
    page1 = " ".join(PdfReader(str(write_pdf(report_from_analyses([analysis]), tmp_path / "r.pdf")))
                     .pages[0].extract_text().split())
    assert "Birth date - " in page1 and "Study date 2012 " in page1
    assert "0000-00" not in page1 and "2012-00" not in page1
    assert report_file_name(patient, "mri") == "SCD0000501_2012_mri_report.pdf"
