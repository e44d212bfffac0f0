"""Issue 54 item 4: an edit that moves a number marks it, GLS and segmental strain included.

Before, one 10 mm bulge on frames 0-3 moved A4C GLS from -17.6 to -13.0 % (one segment at +25 %, 6 of 6 segments
"tracking poor") and neither the viewer, the JSON nor the PDF marked the GLS as edited. Now the GLS and the
segment peaks depend on the contours and the ED/ES frames like the volumes do, and a re-tracked strain that an
edit turned into no heart's motion keeps its curves but reports no GLS, saying why."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from pypdf import PdfReader
from report_fixtures import synthetic_analysis, synthetic_strain

from app.analysis.strain import implausible_reason
from app.report.from_study import study_report, write_study_report


def _study_with_strain():
    from app.workflow.study import StudyState

    study = StudyState()
    for view in ("a4c", "a2c"):
        analysis = synthetic_analysis(view=view, path=Path(f"/s/{view}.dcm"))
        analysis = replace(analysis, strain=synthetic_strain(analysis))
        study.set_analysis(study.add_recording(analysis.recording), analysis)
    return study


def _bulge(study, index: int = 0) -> None:
    """Push the ED endocardium of recording `index` outward by 15 %, by hand."""
    st = study[index]
    key = (0, st.ed_frames[0])
    endo = st.contour(key, "endo")
    centre = endo.points_px.mean(axis=0)
    study.set_contour(index, key, "endo", endo.with_points(centre + (endo.points_px - centre) * 1.15))


def test_a_contour_edit_marks_the_gls_and_the_segments_in_the_report(tmp_path):
    study = _study_with_strain()
    before = {row.key: row for _, row in study_report(study).all_rows}
    assert not before["gls_pct"].edited
    _bulge(study)
    assert "gls_pct" in study[0].measurements.edited and "gls_pct" not in study[1].measurements.edited
    report = study_report(study)
    a4c = {row.key: row for row in report.recordings[0].measurements}
    a2c = {row.key: row for row in report.recordings[1].measurements}
    assert a4c["gls_pct"].edited and all(r.edited for k, r in a4c.items() if k.startswith("strain_"))
    assert not a2c["gls_pct"].edited
    mean = next(row for row in report.study_rows if row.key == "gls_pct")
    assert mean.edited  # the mean of A4C and A2C holds the edited A4C
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(write_study_report(
        study, tmp_path / "r.pdf"))).pages).split())
    assert f"{a4c['gls_pct'].text} *" in text and f"{mean.text} *" in text
    assert "values affected" in text and "GLS" in text
    edited_line = text[text.index("Edited by hand"):]
    assert "RV EDV" not in edited_line and "FAC" not in edited_line  # an echo report names no RV or FAC


def test_moving_es_by_hand_marks_the_gls_too():
    study = _study_with_strain()
    st = study[0]
    study.set_edes(0, st.ed_frames, tuple(f + 1 for f in st.es_frames))
    assert "gls_pct" in study[0].measurements.edited


def test_more_than_two_poorly_tracked_segments_of_a_view_report_no_gls_as_the_guideline_says():
    """ASE/EACVI 2015: no GLS when tracking is suboptimal in more than two segments of a view; two are allowed."""
    strain = _study_with_strain()[0].strain
    two = replace(strain, segment_ok=(False, True, False, True, True, True))
    assert implausible_reason(two) == ""
    three = replace(strain, segment_ok=(False, True, False, True, False, True))
    names = [strain.segment_names[k].replace("_", " ") for k in (0, 2, 4)]
    assert implausible_reason(three) == (f"strain tracking poor in 3 of 6 segments ({', '.join(names)}): the ASE/EACVI "
                                         "guideline avoids a GLS when more than 2 segments of a view track poorly")


def test_a_strain_an_edit_made_implausible_reports_no_gls_and_says_why():
    study = _study_with_strain()
    strain = study[0].strain
    broken = replace(strain, segment_ok=(False,) * 6,
                     segment_peak_pct=(25.0, *strain.segment_peak_pct[1:]))
    assert implausible_reason(broken).startswith("strain tracking poor in every segment")
    assert "lengthens in systole (+25 %)" in implausible_reason(replace(broken, segment_ok=(False,) + (True,) * 5))
    assert implausible_reason(strain) == ""
    assert implausible_reason(replace(strain, segment_peak_pct=(3.0, *strain.segment_peak_pct[1:]))) == ""  # tracked

    study.set_strain(0, broken)  # nothing edited: the analysis' own strain, judged by the same rule
    assert study[0].strain.gls_pct is None
    assert study[0].strain.withheld.startswith("GLS not reported: strain tracking poor in every segment")
    study.set_strain(0, strain)  # tracked well: shown as it is
    assert study[0].strain.gls_pct == strain.gls_pct and not study[0].strain.withheld
    _bulge(study)
    study.set_strain(0, broken)  # re-tracked on the edited contours
    shown = study[0].strain
    assert shown.gls_pct is None and all(p is None for p in shown.segment_peak_pct)
    assert shown.withheld.startswith("GLS not reported after the hand edit: strain tracking poor in every segment")
    assert np.array_equal(shown.strain_curve_pct, broken.strain_curve_pct)  # the curves stay for the user to see
    report = study_report(study)
    a4c = {row.key: row for row in report.recordings[0].measurements}
    assert a4c["gls_pct"].value is None
    assert any(line.startswith("GLS not reported after the hand edit") for line in report.recordings[0].quality_flags)
    assert not any(row.key == "gls_pct" for row in report.study_rows)  # no mean of one view
    assert shown.to_json_dict()["strain_withheld"] == shown.withheld
    restored = type(study)()
    for st in study.recordings:
        restored.add_recording(st.recording)
    restored.restore_json(0, study.to_json(0))
    assert restored[0].strain.gls_pct is None and restored[0].strain.withheld == shown.withheld
