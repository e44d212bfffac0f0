"""The right ventricle after the analysis (editable control contours, re-measuring, restore) and values
indexed to body surface area (height and weight from DICOM, `analyze --height-cm/--weight-kg`, the study)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.body_size import bsa_mosteller_m2, check_body_size
from app.cli import main
from app.data.recording import PatientInfo
from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from app.workflow.study import StudyState
from tests.test_mri_stack_shapes import _phase_labels, _stack


def rv_cine(n_frames: int = 8):
    """(Recording, labels (S, T, H, W)): LV and RV pools shrinking to ES at the middle phase."""
    phases = []
    for t in range(n_frames):
        p = 0.5 * (1 + np.cos(2 * np.pi * t / n_frames))  # 1 at ED (t = 0), 0 at ES
        phases.append(_phase_labels(8 + 4 * p, 6 + 4 * p))
    labels = np.stack(phases, axis=1)
    return _stack(labels), labels


def test_bsa_mosteller():
    assert bsa_mosteller_m2(180, 80) == pytest.approx(2.0)
    assert bsa_mosteller_m2(160, 57.6) == pytest.approx(1.6)
    with pytest.raises(ValueError, match="height must be between"):
        check_body_size(1800, 80)  # millimetres typed as centimetres


def test_indexed_values_in_json():
    rec, labels = rv_cine()
    rec = type(rec)(**{**rec.__dict__, "patient": PatientInfo(height_cm=180.0, weight_kg=80.0)})
    data = run_task(analyze_recording(rec, segmenter=lambda r: labels)).to_json_dict()
    assert data["bsa_m2"] == pytest.approx(2.0)
    assert data["edv_index_ml_m2"] == pytest.approx(data["edv_ml"] / 2.0, abs=0.01)
    assert data["rv_edv_index_ml_m2"] == pytest.approx(data["rv_edv_ml"] / 2.0, abs=0.01)
    assert data["lv_mass_index_g_m2"] == pytest.approx(data["myocardial_mass_g"] / 2.0, abs=0.06)
    no_size = run_task(analyze_recording(rv_cine()[0], segmenter=lambda r: labels)).to_json_dict()
    assert no_size["bsa_m2"] is None and no_size["edv_index_ml_m2"] is None and no_size["rv_edv_ml"] is not None


def test_dicom_height_weight_and_cli_override(tmp_path, capsys):
    from app.data.readers import load_recording
    from app.data.writers.dicom_mr import write_mr_series

    rec, labels = rv_cine()
    rec = type(rec)(**{**rec.__dict__, "frames": rec.frames.astype(np.uint16),
                       "patient": PatientInfo(patient_id="P1", height_cm=172.0, weight_kg=70.0)})
    folder = write_mr_series(rec, tmp_path / "dicom")
    back = load_recording(folder)
    assert back.patient.height_cm == pytest.approx(172.0) and back.patient.weight_kg == pytest.approx(70.0)
    np.save(tmp_path / "labels.npy", labels)
    args = ["analyze", str(folder), "--labels", str(tmp_path / "labels.npy"), "--json", "-", "--no-strain"]
    assert main(args) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_file["height_cm"] == 172.0 and from_file["bsa_m2"] == pytest.approx(np.sqrt(172 * 70 / 3600), abs=1e-3)
    assert main(args + ["--weight-kg", "90"]) == 0  # typed weight, height from the file
    typed = json.loads(capsys.readouterr().out)
    assert typed["weight_kg"] == 90.0 and typed["bsa_m2"] == pytest.approx(np.sqrt(172 * 90 / 3600), abs=1e-3)
    assert main(args + ["--height-cm", "1720"]) == 2  # bad input: one line, exit 2
    assert "height must be between 30 and 250" in capsys.readouterr().err


def test_report_rows_rv_and_indexed():
    from app.report.build import report_from_analyses

    rec, labels = rv_cine()
    rec = type(rec)(**{**rec.__dict__, "patient": PatientInfo(sex="F", height_cm=165.0, weight_kg=60.0)})
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    rows = {r.key: r for r in report_from_analyses([analysis]).recordings[0].measurements}
    m = analysis.measurements
    assert rows["rv_edv_ml"].value == pytest.approx(m.rv_edv_ml) and rows["rv_ef_pct"].value == pytest.approx(
        m.rv_ef_pct
    )
    assert rows["rv_edv_ml"].reference == "79-175 ml"  # women, CMR
    assert rows["bsa_m2"].value == pytest.approx(np.sqrt(165 * 60 / 3600))
    assert rows["rv_esv_index_ml_m2"].value == pytest.approx(m.rv_esv_ml / rows["bsa_m2"].value)
    figure = report_from_analyses([analysis]).recordings[0].figures[0]
    assert figure.closed.get("rv") and len(figure.contours["rv"]) > 10


def test_every_value_the_report_prints_leaves_in_its_csv_and_the_cohort_summary(tmp_path):
    """A stack's RV volumes and EF, its BSA and indexed values are printed by the report; the measurements CSV
    dropped all of them and a cohort's summary.csv the RV (and a slice's FAC): a signed value that did not leave."""
    import csv

    from app.report import exports
    from app.report.build import report_from_analyses
    from app.report.exporter import ExportOptions, batch_export
    from app.workflow.batch import SUMMARY_COLUMNS

    rec, labels = rv_cine()
    rec = type(rec)(**{**rec.__dict__, "patient": PatientInfo(sex="M", height_cm=180.0, weight_kg=80.0)})
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    report = report_from_analyses([analysis])
    printed = {r.key: r for r in report.recordings[0].measurements if r.value is not None}
    assert {"rv_edv_ml", "rv_ef_pct", "bsa_m2", "rv_esv_index_ml_m2"} <= set(printed)
    row = next(csv.DictReader(exports.write_measurements_csv(report, tmp_path / "m.csv").open(encoding="utf-8")))
    for key, r in printed.items():
        assert float(row[key]) == pytest.approx(r.value, abs=0.51 * 10 ** -r.decimals), key
    summary = batch_export(ExportOptions(kinds=()))(analysis, tmp_path / "stack").row
    for key in ("rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"):
        assert key in SUMMARY_COLUMNS and summary[key] == printed[key].text, key


def test_rv_is_an_editable_contour_that_remeasures_and_restores():
    rec, labels = rv_cine()
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    study = StudyState()
    study.add_recording(rec)
    study.set_analysis(0, analysis)
    st = study[0]
    assert st.measurements.rv_edv_ml == pytest.approx(analysis.measurements.rv_edv_ml, rel=0.02)
    ed = st.ed_frames[0]
    old = st.contour((1, ed), "rv")
    assert old is not None and old.closed
    centre = old.points_px.mean(axis=0)
    study.set_contour(0, (1, ed), "rv", old.with_points(centre + 1.2 * (old.points_px - centre)))
    grown = st.measurements.rv_edv_ml
    assert grown > analysis.measurements.rv_edv_ml + 0.5 and "rv_edv_ml" in st.measurements.edited
    assert st.measurements.edv_ml == pytest.approx(analysis.measurements.edv_ml, rel=0.02)  # the LV is untouched
    saved = study.to_json(0)
    fresh = StudyState()
    fresh.add_recording(rec)
    fresh.restore_json(0, saved)
    assert fresh[0].measurements.rv_edv_ml == pytest.approx(grown)
    restored = fresh[0].analysis
    assert (restored.labels == 3).any() and restored.contours[1].rv[ed] is not None


def test_body_size_in_the_study_is_undoable_and_saved():
    from app.workflow.study_edits import PatientDetailsEdit

    rec, labels = rv_cine()
    study = StudyState()
    study.add_recording(rec)
    study.set_analysis(0, run_task(analyze_recording(rec, segmenter=lambda r: labels)))
    edit = PatientDetailsEdit(180.0, 80.0, "")
    edit.apply(study)
    assert study[0].recording.patient.height_cm == 180.0
    saved = study.to_json(0)
    assert saved["body_size"] == {"height_cm": 180.0, "weight_kg": 80.0}
    edit.revert(study)
    assert study[0].recording.patient.height_cm is None
    with pytest.raises(ValueError, match="weight must be between"):
        study.set_body_size(0, 180.0, 0.5)
    fresh = StudyState()
    fresh.add_recording(rec)
    fresh.restore_json(0, saved)
    assert fresh[0].recording.patient.weight_kg == 80.0


def test_contours_export_has_the_rv(tmp_path, capsys):
    from app.report.exports import contours_dict

    rec, labels = rv_cine()
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    data = json.loads(json.dumps(contours_dict(analysis)))
    assert len(data["rv_slices"]) == rec.n_slices and len(data["rv_slices"][0]) == rec.n_frames
    border = np.asarray(data["rv_slices"][1][0])
    assert border.shape[1] == 2 and border[:, 0].mean() > 40  # the RV sits right of the LV (column 50)
