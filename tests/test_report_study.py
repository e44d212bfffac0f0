"""The viewer's path to the report: a StudyState with a manual edit gives a report marking the edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from app.report.from_study import analyses_from_study, study_report, write_study_report
from report_fixtures import synthetic_analysis


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
