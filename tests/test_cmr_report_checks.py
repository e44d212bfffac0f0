"""The short-axis cine MR report's own checks: LV against RV stroke volume, the stack's slice coverage at ED
(app.analysis.slice_coverage), and a title that names the RV when the report has RV values."""

from __future__ import annotations

import numpy as np
import pytest
from pypdf import PdfReader

from app.analysis.slice_coverage import APEX_OPEN_FRACTION, slice_coverage
from app.data.recording import Recording, uniform_frame_times
from app.report.build import report_from_analyses
from app.report.pdf import write_pdf
from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from app.workflow.measure_notes import APEX_CUT_NOTE, SV_MISMATCH_ML, SV_MISMATCH_NOTE, stroke_volume_note

TAPER = (1.0, 1.0, 0.95, 0.85, 0.65, 0.35)  # LV radius per slice, base to apex: the last slice holds ~12 %
CYLINDER = (1.0,) * 6  # a stack cut off in the mid-ventricle: the last slice holds all of it


def _disk(shape, centre, radius):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius ** 2


def _phase(lv_r: float, rv_r: float, profile, shape=(80, 80)) -> np.ndarray:
    """(S, H, W): an LV pool of radius lv_r x profile[s] in a 4-px wall, an RV pool of radius rv_r beside it."""
    out = np.zeros((len(profile), *shape), np.uint8)
    for s, f in enumerate(profile):
        out[s][_disk(shape, (40, 28), lv_r * f + 4)] = 2
        out[s][_disk(shape, (40, 28), lv_r * f)] = 1
        out[s][_disk(shape, (40, 60), rv_r * f) & (out[s] == 0)] = 3
    return out


def _analysis(rv_es_r: float = 8.0, profile=TAPER, apex_first: bool = False):
    """An ED/ES pair of phases (2 mm pixels, 10 mm slices) analyzed with its labels; the RV's ES radius sets its
    stroke volume (8: about the LV's)."""
    labels = np.stack([_phase(14, 13, profile), _phase(10, rv_es_r, profile)], axis=1)
    labels = labels[::-1].copy() if apex_first else labels
    rec = Recording(frames=(labels * 60).astype(np.float32), frame_times_s=uniform_frame_times(2, 25.0),
                    modality="mri", view="sax", spacing_mm=(2.0, 2.0), calibrated=True, slice_spacing_mm=10.0)
    return run_task(analyze_recording(rec, segmenter=lambda recording: labels))


def _page_one_text(analysis, tmp_path) -> str:
    path = write_pdf(report_from_analyses([analysis]), tmp_path / "r.pdf")
    return PdfReader(str(path)).pages[0].extract_text()


# -- 1. LV and RV stroke volumes ---------------------------------------------------------------------------
def test_stroke_volume_note_bound_needs_both_the_ml_floor_and_the_fraction():
    assert stroke_volume_note(80.0, 70.5) == ()  # 9.5 ml: under the 10 ml floor
    assert stroke_volume_note(80.0, 69.0) == ()  # 11 ml but 14 % of the larger
    assert stroke_volume_note(40.0, 31.0) == ()  # 22 % but 9 ml
    assert stroke_volume_note(None, 31.0) == () and stroke_volume_note(80.0, float("nan")) == ()
    (note,) = stroke_volume_note(60.0, 80.0)  # 20 ml, 25 %: an RV that ejects more (tricuspid regurgitation?)
    assert note.startswith(SV_MISMATCH_NOTE) and "LV SV 60 ml, RV SV 80 ml, 20 ml apart (25 % of the larger):" in note
    assert "check the basal slices of both ventricles; a real difference means regurgitation or a shunt" in note
    assert stroke_volume_note(80.0, 68.0) == ()  # 12 ml, exactly 15 %: not over
    assert stroke_volume_note(80.0, 80.0 - SV_MISMATCH_ML - 3.0)  # 13 ml, 16 %: over both


def test_lv_and_rv_stroke_volumes_that_disagree_are_said_on_page_one(tmp_path):
    agree = _analysis(rv_es_r=8.0).measurements
    assert abs(agree.sv_ml - agree.rv_sv_ml) < 0.15 * max(agree.sv_ml, agree.rv_sv_ml)
    assert not any(n.startswith(SV_MISMATCH_NOTE) for n in agree.notes)
    analysis = _analysis(rv_es_r=12.0)  # the RV barely ejects
    m = analysis.measurements
    assert m.sv_ml - m.rv_sv_ml > 30.0
    (note,) = [n for n in m.notes if n.startswith(SV_MISMATCH_NOTE)]
    assert f"LV SV {m.sv_ml:.0f} ml, RV SV {m.rv_sv_ml:.0f} ml" in note
    assert note in analysis.to_json_dict()["notes"]
    text = " ".join(_page_one_text(analysis, tmp_path).split())
    assert "Check the contours:" in text and SV_MISMATCH_NOTE in text and "regurgitation or a shunt" in text
    # both stroke volumes the note compares are in page 1's summary (the RV's was left out of it)
    assert f"Stroke volume (SV) {m.sv_ml:.1f} ml" in text and f"RV stroke volume (RV SV) {m.rv_sv_ml:.1f} ml" in text


# -- 2. slice coverage ---------------------------------------------------------------------------------------
def test_coverage_takes_the_apex_at_the_narrow_end_and_judges_its_cavity():
    tapering = np.array([90.0, 100.0, 95.0, 80.0, 50.0, 20.0])
    c = slice_coverage(tapering)
    assert c.base_first and c.apical_fraction == pytest.approx(0.2) and c.basal_fraction == pytest.approx(0.9)
    assert not c.apex_cut
    flipped = slice_coverage(tapering[::-1])  # a file stored apex first
    assert not flipped.base_first and flipped.apical_fraction == pytest.approx(0.2)
    cut = slice_coverage([90.0, 100.0, 95.0, 90.0, 70.0, 100 * APEX_OPEN_FRACTION])
    assert cut.apex_cut and cut.to_json_dict()["apex_covered"] is False
    capped = slice_coverage([np.nan, 90.0, 100.0, 70.0, 30.0, 0.0])  # a myocardium-only cap, an atrial slice
    assert capped.apical_fraction == 0.0 and capped.basal_fraction == 0.0 and not capped.apex_cut
    assert slice_coverage([100.0, 50.0, np.nan]) is None  # two slices with an LV: no stack to judge


def test_a_stack_that_stops_short_of_the_apex_is_said_on_page_one_and_in_the_json(tmp_path):
    covered = _analysis(profile=TAPER)
    data = covered.to_json_dict()
    assert data["slice_coverage"]["apex_covered"] is True
    assert data["slice_coverage"]["apical_slice_cavity_fraction"] == pytest.approx(0.35 ** 2, abs=0.03)
    assert not any(n.startswith(APEX_CUT_NOTE) for n in data["notes"])
    (statement,) = [n for n in data["notes"] if n.startswith("slice coverage at ED (frame 0)")]
    assert "(apex covered)" in statement
    assert APEX_CUT_NOTE not in " ".join(_page_one_text(covered, tmp_path).split())

    for apex_first in (False, True):
        cut = _analysis(profile=CYLINDER, apex_first=apex_first)
        data = cut.to_json_dict()
        assert data["slice_coverage"]["apex_covered"] is False and data["slice_coverage"]["slices_with_lv"] == 6
        (note,) = [n for n in data["notes"] if n.startswith(APEX_CUT_NOTE)]
        assert "holds 100 % of the largest slice's LV cavity area at ED (frame 0)" in note
        assert "may be underestimated" in note
    text = " ".join(_page_one_text(cut, tmp_path).split())
    assert "Check the data:" in text and APEX_CUT_NOTE in text


# -- 3. the title ------------------------------------------------------------------------------------------------
def test_the_title_names_the_right_ventricle_when_the_report_has_its_values(tmp_path):
    from report_fixtures import synthetic_analysis, synthetic_stack_analysis

    cmr = _analysis()
    report = report_from_analyses([cmr])
    assert report.title == "CardioTrace: left and right ventricular function report"
    path = write_pdf(report, tmp_path / "cmr.pdf")
    reader = PdfReader(str(path))
    assert reader.metadata.title == report.title
    assert report.title in " ".join(reader.pages[0].extract_text().split())
    for lv_only in (synthetic_analysis(view="a4c"), synthetic_stack_analysis()):  # echo; a stack with no RV drawn
        report = report_from_analyses([lv_only])
        assert report.title == "CardioTrace: left ventricular function report"
        assert PdfReader(str(write_pdf(report, tmp_path / "lv.pdf"))).metadata.title == report.title


def test_a_one_phase_stack_states_its_coverage_in_that_phase():
    labels = _phase(14, 13, TAPER)[:, None]
    rec = Recording(frames=(labels * 60).astype(np.float32), frame_times_s=uniform_frame_times(1, 25.0),
                    modality="mri", view="sax", spacing_mm=(2.0, 2.0), calibrated=True, slice_spacing_mm=10.0)
    m = run_task(analyze_recording(rec, segmenter=lambda recording: labels)).measurements
    assert m.slice_coverage is not None and not m.slice_coverage.apex_cut
    assert any(n.startswith("slice coverage in its one phase") for n in m.notes)


def test_acdc_expert_labels_raise_the_checks_only_where_their_values_disagree(shared_data, tmp_path, capsys):
    """The first patient of each ACDC group through `analyze --labels`: the stroke volume note exactly where the
    experts' own reference volumes differ beyond the bound, and no apex note (their stacks reach the apex)."""
    import json

    from app.cli import main
    from app.workflow.measure_notes import SV_MISMATCH_FRACTION
    from lab.data.acdc import load_patient, patient_ids, write_nifti

    firsts: dict = {}
    for pid in patient_ids(shared_data / "acdc"):
        case = load_patient(shared_data / "acdc", pid)
        firsts.setdefault(case.group, case)
    for case in firsts.values():
        image, labels = write_nifti(case, tmp_path / f"{case.patient}.nii.gz", tmp_path / f"{case.patient}_l.nii.gz")
        assert main(["analyze", str(image), "--labels", str(labels), "--json", "-", "--no-strain"]) == 0
        r = json.loads(capsys.readouterr().out)
        ref = case.reference
        lv_sv, rv_sv = ref.lv_edv_ml - ref.lv_esv_ml, ref.rv_edv_ml - ref.rv_esv_ml
        diff = abs(lv_sv - rv_sv)
        if abs(diff - max(SV_MISMATCH_ML, SV_MISMATCH_FRACTION * max(lv_sv, rv_sv))) > 1.0:  # clear of the bound
            disagree = diff > SV_MISMATCH_ML and diff > SV_MISMATCH_FRACTION * max(lv_sv, rv_sv)
            assert any(n.startswith(SV_MISMATCH_NOTE) for n in r["notes"]) == disagree, case.patient
        assert r["slice_coverage"]["apex_covered"], case.patient
        assert not any(n.startswith(APEX_CUT_NOTE) for n in r["notes"]), case.patient
