"""The SR's study group (biplane volumes and EF, their indexes, mean GLS, LA volume), as an echocardiographer read it.

1. Its values referenced no image (built with sources=None), so a PACS could not show which frames a biplane
   volume was measured on. Each now references the frames of the clips the study computed it from, which of two
   A4C clips need not be the first given (the view pair rule, app.workflow.study_result).
2. A view's GLS kept although some of its segments were tracked poorly (up to two: the guideline's rule) left
   with no word on it; page 1 says it. The SR now says it in its structure: a TID 1501 qualitative evaluation of
   the group, named by the GLS's concept, 'Limited quality' (CID 7036); the value is the report's."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pydicom
import pytest
from report_fixtures import synthetic_analysis, synthetic_strain

from app.data.writers.dicom_us import write_us_dicom
from app.report.build import report_from_analyses
from app.report.dicom_results import build_results
from app.workflow.study_result import compose_study
from app.workflow.view_step import ViewCheck

EDV, ESV, SV, EF, LA, MEAN_GLS = "18026-5", "18148-7", "90096001", "18043-0", "399235004", "130690"
LIMITED_QUALITY = ("RID13", "RADLEX")


def _analysis(tmp_path, name: str, view: str, seed: int, weak_segment: int | None = None, disputed: bool = False):
    """A synthetic echo clip written as DICOM (its own series) and analyzed, with a strain (`weak_segment`
    tracked poorly) and, `disputed`, the view classifier's confident word that it is another view."""
    analysis = synthetic_analysis(view=view, seed=seed)
    recording = replace(analysis.recording, series_description=name)
    path = write_us_dicom(recording, tmp_path / f"{name}.dcm")
    analysis = replace(analysis, recording=replace(recording, source_path=path))
    check = ViewCheck(view="a2c", probability=0.97, labelled_view=view, warning="looks like an A2C") if disputed \
        else None
    return replace(analysis, strain=synthetic_strain(analysis, weak_segment=weak_segment), view_check=check)


def _results(analyses):
    study = compose_study(analyses)
    report = report_from_analyses(analyses, study=study.measurements, la=study.la)
    return report, build_results(analyses, report=report, with_pdf=False)


def _groups(sr) -> list:
    (container,) = [i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "126010"]
    return list(container.ContentSequence)


def _study_group(sr):
    return next(g for g in _groups(sr) if any(i.get("TextValue", "").startswith("study") for i in g.ContentSequence))


def _num(group, code: str):
    return next(i for i in group.ContentSequence if i.ValueType == "NUM"
                and i.ConceptNameCodeSequence[0].CodeValue == code)


def _refs(item) -> set[tuple[str, tuple[int, ...]]]:
    """(SOP Instance UID, frame numbers) of each image a content item references."""
    out = set()
    for child in getattr(item, "ContentSequence", []):
        if child.ValueType == "IMAGE":
            ref = child.ReferencedSOPSequence[0]
            frames = ref.get("ReferencedFrameNumber", [])
            frames = [frames] if not isinstance(frames, list | pydicom.multival.MultiValue) else frames
            out.add((str(ref.ReferencedSOPInstanceUID), tuple(int(f) for f in frames)))
    return out


def _evaluations(group) -> dict[str, tuple[str, str]]:
    return {i.ConceptNameCodeSequence[0].CodeValue: (i.ConceptCodeSequence[0].CodeValue,
                                                     i.ConceptCodeSequence[0].CodingSchemeDesignator)
            for i in group.ContentSequence if i.ValueType == "CODE" and i.RelationshipType == "CONTAINS"}


def _frames(section, which: str) -> tuple[int, ...]:
    counted = [b for b in section.beats if b.counted]
    return tuple(sorted({(b.ed_frame if which == "ed" else b.es_frame) + 1 for b in counted}))


def _validate(path) -> None:
    if shutil.which("dciodvfy") is None or shutil.which("dsrdump") is None:
        pytest.skip("dciodvfy (dicom3tools) or dsrdump (DCMTK) is not installed")
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith(("Error", "Warning"))]
    assert not errors, "\n".join(errors)
    dump = subprocess.run(["dsrdump", "-v", str(path)], capture_output=True, text=True)
    assert dump.returncode == 0 and "W: " not in dump.stderr and "E: " not in dump.stderr, dump.stderr


def test_the_study_values_reference_the_frames_of_the_clips_the_study_used(tmp_path):
    """Two A4C clips, the first the view classifier calls an A2C: the study's biplane, LA volume and GLS use the
    second, and the SR's study values reference its frames and the A2C's, never the first A4C's."""
    first = _analysis(tmp_path, "A4C one", "a4c", 0, disputed=True)
    second = _analysis(tmp_path, "A4C two", "a4c", 1)
    a2c = _analysis(tmp_path, "A2C", "a2c", 2)
    report, results = _results([first, second, a2c])
    assert report.study_sources.biplane == (1, 2) and report.study_sources.gls == (1, 2)
    assert report.study_sources.la == (1, 2)
    uid = [str(pydicom.dcmread(a.recording.source_path, stop_before_pixels=True).SOPInstanceUID)
           for a in (first, second, a2c)]
    sections = report.recordings
    ed = {(uid[i], _frames(sections[i], "ed")) for i in (1, 2)}
    es = {(uid[i], _frames(sections[i], "es")) for i in (1, 2)}
    both = {(uid[i], tuple(sorted(_frames(sections[i], "ed") + _frames(sections[i], "es")))) for i in (1, 2)}
    group = _study_group(results.sr)
    assert _refs(_num(group, EDV)) == ed and _refs(_num(group, ESV)) == es
    assert _refs(_num(group, SV)) == both and _refs(_num(group, EF)) == both
    assert _refs(_num(group, LA)) == es  # the atrium at LV end-systole, in both views
    assert _refs(_num(group, MEAN_GLS)) == {(uid[1], ()), (uid[2], ())}
    assert _refs(group) == {(uid[1], ()), (uid[2], ())}  # the group's source images: the two clips it used
    rows = {row.key: row.value for row in report.study_rows}
    for code, key in ((EDV, "edv_ml"), (ESV, "esv_ml"), (EF, "ef_pct"), (LA, "la_volume_ml")):
        assert float(_num(group, code).MeasuredValueSequence[0].NumericValue) == pytest.approx(rows[key], abs=1e-9)
    evidence = {str(s.ReferencedSOPInstanceUID) for e in results.sr.CurrentRequestedProcedureEvidenceSequence
                for series in e.ReferencedSeriesSequence for s in series.ReferencedSOPSequence}
    assert set(uid) <= evidence  # every instance referenced is in the evidence
    path = tmp_path / "sr.dcm"
    results.sr.save_as(path, enforce_file_format=True)
    _validate(path)


def test_a_gls_kept_with_poorly_tracked_segments_says_so_in_the_sr(tmp_path):
    """The A4C's GLS rests on one poorly tracked segment: its group and the study's (the mean takes it) evaluate
    their GLS 'Limited quality'; the A2C's, well tracked, carries none; the values sent are the report's."""
    a4c = _analysis(tmp_path, "A4C", "a4c", 0, weak_segment=2)
    a2c = _analysis(tmp_path, "A2C", "a2c", 1)
    report, results = _results([a4c, a2c])
    groups = _groups(results.sr)
    assert _evaluations(groups[0]) == {"130691": LIMITED_QUALITY}  # LV Peak Systolic GLS 4CH
    assert _evaluations(groups[1]) == {}
    study = _study_group(results.sr)
    assert _evaluations(study) == {MEAN_GLS: LIMITED_QUALITY}
    view_gls = next(r.value for r in report.recordings[0].measurements if r.key == "gls_pct")
    mean_gls = next(r.value for r in report.study_rows if r.key == "gls_pct")
    assert float(_num(groups[0], "130691").MeasuredValueSequence[0].NumericValue) == pytest.approx(view_gls, abs=1e-9)
    assert float(_num(study, MEAN_GLS).MeasuredValueSequence[0].NumericValue) == pytest.approx(mean_gls, abs=1e-9)
    path = tmp_path / "sr.dcm"
    results.sr.save_as(path, enforce_file_format=True)
    _validate(path)
    _, clean = _results([_analysis(tmp_path, "A4C", "a4c", 0), a2c])
    assert all(_evaluations(g) == {} for g in _groups(clean.sr))  # well tracked: no word
