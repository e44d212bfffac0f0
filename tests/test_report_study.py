"""The viewer's path to the report: a StudyState with a manual edit gives a report marking the edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from report_fixtures import synthetic_analysis

from app.report.from_study import analyses_from_study, study_report, write_study_report


def test_study_report_carries_edits_and_biplane(tmp_path):
    from app.workflow.study import StudyState

    study = StudyState()
    for view in ("a4c", "a2c"):
        index = study.add_recording(synthetic_analysis(view=view, path=Path(f"/s/{view}.dcm")).recording)
        study.set_analysis(index, synthetic_analysis(view=view, path=Path(f"/s/{view}.dcm")))
    st = study[0]
    ed = st.ed_frames[0]
    endo = st.contour((0, ed), "endo")
    moved = endo.with_points(endo.points_px * np.array([1.15, 1.0]) - np.array([0.15 * endo.points_px[:, 0].mean(), 0]))
    study.set_contour(0, (0, ed), "endo", moved)
    analyses, measurements = analyses_from_study(study)
    assert len(analyses) == 2 and measurements.biplane is not None
    assert "edv_ml" in analyses[0].measurements.edited
    report = study_report(study, comment="edited ED endocardium")
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["edv_ml"].edited and rows["edv_ml"].value == pytest.approx(st.measurements.edv_ml)
    path = write_study_report(study, tmp_path / "study.pdf", comment="edited ED endocardium", page_size="Letter")
    text = "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)
    assert f"{rows['edv_ml'].text} *" in text and "EF (biplane)" in text and "edited ED endocardium" in text


def test_study_without_analysis_is_refused():
    from app.workflow.study import StudyState

    study = StudyState()
    study.add_recording(synthetic_analysis().recording)
    with pytest.raises(ValueError, match="run the analysis first"):
        study_report(study)


def test_export_study_writes_every_kind(tmp_path):
    from app.report.from_study import export_study
    from app.workflow.study import StudyState

    study = StudyState()
    analysis = synthetic_analysis(view="a4c", n_frames=20, path=Path("/s/clip.dcm"))
    study.set_analysis(study.add_recording(analysis.recording), analysis)
    written = export_study(study, tmp_path / "export", anonymise=True)
    names = sorted(p.name for p in written)
    assert names == sorted(["report.pdf", "measurements.csv", "measurements.json", "clip_a4c.contours.json",
                            "clip_a4c.masks.nii.gz", "clip_a4c.cine.mp4"])
    assert all(p.stat().st_size > 0 for p in written)
    with pytest.raises(ValueError, match="unknown export kinds"):
        export_study(study, tmp_path / "x", kinds=("pdf", "docx"))


def _study(views=("a4c", "a2c")):
    from app.workflow.study import StudyState

    study = StudyState()
    for view in views:
        index = study.add_recording(synthetic_analysis(view=view, path=Path(f"/s/{view}.dcm")).recording)
        study.set_analysis(index, synthetic_analysis(view=view, path=Path(f"/s/{view}.dcm")))
    return study


def _pdf_text(path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(str(path)).pages).split())


def test_the_report_has_the_la_volume_with_its_range_biplane_and_single_plane(tmp_path):
    from app.workflow.study_edits import PatientDetailsEdit

    study = _study()
    la = study.la
    assert la is not None and la.method == "biplane area-length"
    rows = {r.key: r for r in study_report(study).study_rows}
    assert rows["la_volume_ml"].value == pytest.approx(la.volume_ml)
    assert "la_volume_index_ml_m2" not in rows and "height and weight needed" in rows["la_volume_ml"].reference
    PatientDetailsEdit(165.0, 60.0, "F").apply(study)
    bsa = np.sqrt(165.0 * 60.0 / 3600)
    report = study_report(study)
    rows = {r.key: r for r in report.study_rows}
    assert rows["la_volume_index_ml_m2"].value == pytest.approx(la.volume_ml / bsa)
    assert rows["la_volume_index_ml_m2"].reference == "<= 34 ml/m2"
    assert rows["la_volume_index_ml_m2"].flag == ("high" if round(la.volume_ml / bsa) > 34 else "")
    text = _pdf_text(write_study_report(study, tmp_path / "la.pdf"))
    page1 = text[:text.index("Conclusion")]
    assert "LA volume (biplane area-length)" in page1 and f"{la.volume_ml:.0f}" in page1
    assert "LA volume index" in page1 and "<= 34 ml/m2" in page1

    single = _study(("a4c",))
    one = single.la
    assert one is not None and one.method == "single-plane area-length (A4C)"
    assert one.volume_ml == pytest.approx(8 / (3 * np.pi) * one.area_a4c_mm2 ** 2 / one.length_a4c_mm / 1000)
    text = _pdf_text(write_study_report(single, tmp_path / "single.pdf"))
    assert "LA volume (single-plane area-length (A4C))" in text


def test_the_report_names_the_frames_edited_by_hand_and_propagated_and_the_retracked_gls(tmp_path):
    from report_fixtures import synthetic_strain

    from app.workflow.edits import ContourEdit
    from app.workflow.propagate import PropagationRange

    study = _study(("a4c",))
    st = study[0]
    text = _pdf_text(write_study_report(study, tmp_path / "plain.pdf"))
    assert "nothing edited" in text and "re-tracked" not in text and "carried along" not in text
    frame = st.es_frames[0]
    old = st.contour((0, frame), "endo")
    centre = old.points_px.mean(axis=0)
    ContourEdit(0, (0, frame), "endo", old.with_points(old.points_px + 0.1 * (centre - old.points_px)), old,
                PropagationRange(2, 2)).apply(study)
    assert st.propagated_keys == {(0, frame + k) for k in (-2, -1, 1, 2)}
    report = study_report(study)
    section = report.recordings[0]
    assert section.hand_edited_frames == (frame,) and not section.strain_retracked
    assert section.propagated_frames == tuple(frame + k for k in (-2, -1, 1, 2))
    study.set_strain(0, synthetic_strain(st.analysis, gls_peak_pct=-15.0))  # as the viewer's re-tracking does
    report = study_report(study)
    assert report.recordings[0].strain_retracked
    assert report.recordings[0].strain.gls_pct == pytest.approx(st.strain.gls_pct)  # the GLS shown, not the old
    text = _pdf_text(write_study_report(study, tmp_path / "edited.pdf"))
    page1 = text[:text.index("Conclusion")]
    assert "Contours corrected by hand in A4C" in page1 and "GLS of A4C re-tracked on the edited contours" in page1
    f = [frame + k for k in (-2, -1, 1, 2)]
    assert f"contours corrected by hand on frame {frame}" in text
    assert f"carried along the motion to frames {f[0]}, {f[1]}, {f[2]} and {f[3]}" in text


def test_the_command_line_report_has_the_viewers_la_volume(tmp_path):
    """The CLI and batch build the report from the analyses alone (no viewer study), the viewer from its state:
    one rule (app.workflow.study_result.compose_study) on the contours the LV is measured on gives the same LA
    volume to the last digit (issue 54: they differed by 1.6 %, the viewer's from control-point splines on
    frames nobody edited), biplane with both views, single-plane with one."""
    from app.report.build import report_from_analyses
    from app.workflow.study_result import compose_study

    analyses = [synthetic_analysis(view=v, path=Path(f"/s/{v}.dcm")) for v in ("a4c", "a2c")]
    la = compose_study(analyses).la
    viewer = _study().la
    assert la is not None and la.method == "biplane area-length"
    assert la == viewer
    rows = {r.key: r for r in report_from_analyses(analyses).study_rows}
    assert rows["la_volume_ml"].value == la.volume_ml
    one = compose_study(analyses[:1]).la
    assert one is not None and one.method == "single-plane area-length (A4C)"
    assert one == _study(("a4c",)).la
    assert compose_study([synthetic_analysis(view="psax", path=Path("/s/psax.dcm"))]).la is None


def test_of_two_clips_of_a_view_the_study_uses_the_one_the_view_check_does_not_dispute():
    """An A4C labelled A2C beside the real A2C: the view check warned of it, and the biplane and LA volume then used
    it all the same, being the first given. The CLI (RecordingAnalysis) and the viewer (StudyState) alike; a clip
    whose view was set again by hand since its check is no longer disputed by it."""
    from dataclasses import replace

    from app.workflow.study import StudyState
    from app.workflow.study_result import compose_study, viewer_items
    from app.workflow.view_step import ViewCheck

    a4c = synthetic_analysis(view="a4c", seed=0, path=Path("/s/a4c.dcm"))
    check = ViewCheck(view="a4c", probability=0.97, labelled_view="a2c", trusted=True,
                      warning="the clip looks like A4C (p 0.97), not A2C as labelled")
    mislabelled = replace(a4c, recording=a4c.recording.with_view("a2c"), view_check=check)
    a2c = synthetic_analysis(view="a2c", seed=1, path=Path("/s/a2c.dcm"))
    composed = compose_study([a4c, mislabelled, a2c])
    assert composed.pair == (0, 2)
    assert composed.notes == ("2 A2C clips in the study: the biplane and LA volume use a2c.dcm (the others look like "
                              "another view)",)
    study = StudyState()
    for analysis in (a4c, mislabelled, a2c):
        study.set_analysis(study.add_recording(analysis.recording), analysis)
    assert compose_study(viewer_items(study)).pair == (0, 2)
    relabelled = replace(mislabelled, view_check=replace(check, labelled_view="a4c"))  # the check of another label
    assert compose_study([a4c, relabelled, a2c]).pair == (0, 1)
