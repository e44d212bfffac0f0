"""The guideline's severity grades of a flagged echo EF and LA volume index (ASE/EACVI 2015, Table 2), judged on the
value as shown, on the report's page 1, page 2 and its JSON (the viewer's table: tests/test_ui_review.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.workflow.reference_ranges import reference_range


@pytest.mark.parametrize(("ef_pct", "sex", "grade"), [
    (60.0, "M", ""), (52.0, "M", ""), (51.9, "M", "mildly"), (53.9, "F", "mildly"), (41.0, "F", "mildly"),
    (40.96, "F", "mildly"),  # shown as 41.0
    (40.9, "M", "moderately"), (30.0, "M", "moderately"), (29.9, "F", "severely"), (12.0, "", "severely"),
    (80.0, "M", ""),  # a high EF is flagged, not graded
])
def test_an_echo_ef_below_its_range_is_graded_as_the_guideline_grades_it(ef_pct, sex, grade):
    assert reference_range("ef_pct", sex, "echo").grade(ef_pct, 1) == grade


def test_the_la_volume_index_is_graded_and_cmr_values_are_not():
    lavi = reference_range("la_volume_index_ml_m2", "F")
    assert [lavi.grade(v, 0) for v in (34, 35, 41, 42, 48, 49)] == ["", "mildly", "mildly", "moderately",
                                                                  "moderately", "severely"]
    assert reference_range("ef_pct", "M", "mri").grade(20.0, 1) == ""  # the CMR references give no grades
    assert reference_range("edv_ml", "M").grade(300.0, 1) == ""


def test_the_grade_is_printed_beside_the_flag_on_both_pages_and_in_the_json(tmp_path):
    from pypdf import PdfReader
    from report_fixtures import synthetic_analysis

    from app.report.build import report_from_analyses
    from app.report.exports import measurements_dict
    from app.report.pdf import write_pdf

    analysis = synthetic_analysis()
    failing = replace(analysis, measurements=replace(analysis.measurements, ef_pct=35.0))
    report = report_from_analyses([failing])
    row = {r.key: r for r in report.recordings[0].measurements}["ef_pct"]
    assert (row.flag, row.grade) == ("low", "moderately")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(write_pdf(report, tmp_path / "r.pdf"))).pages)
                    .split())
    assert text.count("LOW moderately") == 2  # page 1 and page 2, the grade under the flag
    ef = measurements_dict(report)["recordings"][0]["measurements"]["ef_pct"]
    assert (ef["flag"], ef["grade"]) == ("low", "moderately")
