"""Exports: measurements CSV/JSON, contours JSON, label masks NIfTI, annotated cine MP4/AVI/GIF."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import synthetic_analysis

from app.report import exports
from app.report.build import report_from_analyses
from app.workflow.results import FrameContours


@pytest.fixture(scope="module")
def analysis():
    return synthetic_analysis(view="a4c", n_frames=24, path=Path("/study/a4c.dcm"))


def test_measurements_csv_has_recording_and_beat_rows(tmp_path, analysis):
    report = report_from_analyses([analysis])
    path = exports.write_measurements_csv(report, tmp_path / "m.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    kinds = [r["row_type"] for r in rows]
    assert kinds.count("recording") == 1
    assert kinds.count("beat") == len(analysis.measurements.beats) >= 1
    rec = rows[0]
    assert float(rec["ef_pct"]) == pytest.approx(analysis.measurements.ef_pct, abs=0.05)
    assert float(rec["edv_ml"]) == pytest.approx(analysis.measurements.edv_ml, abs=0.05)
    assert rec["view"] == "a4c" and rec["calibrated"] == "True"
    beat = next(r for r in rows if r["row_type"] == "beat")
    first = analysis.measurements.beats[0]
    assert int(beat["ed_frame"]) == first.ed_frame and int(beat["es_frame"]) == first.es_frame
    assert float(beat["ef_pct"]) == pytest.approx(first.ef_pct, abs=0.05)


def test_measurements_json_round_trip(tmp_path, analysis):
    report = report_from_analyses([analysis], anonymise=True)
    data = json.loads(exports.write_measurements_json(report, tmp_path / "m.json").read_text())
    assert data["anonymised"] and data["patient"]["patient_id"] == ""
    rec = data["recordings"][0]
    assert rec["ed_frames"] == list(analysis.measurements.ed_frames)
    assert rec["measurements"]["sv_ml"]["value"] == pytest.approx(analysis.measurements.sv_ml, abs=0.05)
    assert len(rec["volume_curve_ml"]) == analysis.recording.n_frames
    assert not list(tmp_path.glob(".*part*")), "temporary files left behind"


def test_contours_json_round_trip(tmp_path, analysis):
    data = json.loads(exports.write_contours_json(analysis, tmp_path / "c.json").read_text())
    back = FrameContours.from_json_dict(data["frames"])
    assert len(back) == analysis.recording.n_frames
    for t in (0, 7, 23):
        np.testing.assert_allclose(back[t].endo_px, analysis.contours[t].endo_px, atol=1e-3)
        np.testing.assert_allclose(back[t].la_px, analysis.contours[t].la_px, atol=1e-3)
    assert data["spacing_mm"] == [0.6, 0.6] and len(data["frame_times_s"]) == 24


def test_masks_nifti_in_the_recording_grid(tmp_path, analysis):
    import SimpleITK as sitk

    path = exports.write_masks_nifti(analysis, tmp_path / "masks.nii.gz")
    image = sitk.ReadImage(str(path))
    t, h, w = analysis.labels.shape
    assert image.GetSize() == (w, h, t)
    assert image.GetSpacing() == pytest.approx((0.6, 0.6, 1.0 / 40.0))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), analysis.labels)


def test_masks_nifti_of_a_stack_is_4d(tmp_path, analysis):
    import SimpleITK as sitk

    stack = np.stack([analysis.labels, analysis.labels[::-1]])  # (S, T, H, W)
    rec = replace(analysis.recording, frames=np.stack([analysis.recording.frames] * 2), modality="mri",
                  view="sax", slice_spacing_mm=8.0)
    path = exports.write_masks_nifti(replace(analysis, recording=rec, labels=stack), tmp_path / "sax.nii")
    image = sitk.ReadImage(str(path))
    s, t, h, w = stack.shape
    assert image.GetSize() == (w, h, s, t)
    assert image.GetSpacing()[2] == pytest.approx(8.0)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), np.transpose(stack, (1, 0, 2, 3)))


def test_annotated_frames_show_the_contours(analysis):
    frames = exports.annotated_frames(analysis)
    assert frames.shape[0] == analysis.recording.n_frames and frames.shape[-1] == 3
    scale = frames.shape[1] // analysis.recording.image_shape[0]
    t = analysis.measurements.ed_frames[0]
    x, y = analysis.contours[t].endo_px[len(analysis.contours[t].endo_px) // 3]
    patch = frames[t, int((y + 0.5) * scale) - 3:int((y + 0.5) * scale) + 4,
                   int((x + 0.5) * scale) - 3:int((x + 0.5) * scale) + 4].reshape(-1, 3).astype(int)
    red = (patch[:, 2] > 180) & (patch[:, 1] < 120) & (patch[:, 0] < 120)  # BGR endocardium colour
    assert red.any(), "no endocardium line drawn at a contour point"


def test_annotated_contours_are_drawn_on_their_pixels(analysis):
    """A contour along the centres of column 20 is drawn over the upscaled pixels of column 20 (their middle is
    (20 + 0.5) * scale - 0.5 in OpenCV's pixel-centre coordinates)."""
    t = analysis.measurements.ed_frames[0]
    square = np.array([[20.0, 20.0], [20.0, 60.0], [50.0, 60.0], [50.0, 20.0]])
    contours = analysis.contours.with_frame(t, replace(analysis.contours[t], endo_px=square, epi_px=None, la_px=None))
    frames = exports.annotated_frames(replace(analysis, contours=contours))
    scale = frames.shape[1] // analysis.recording.image_shape[0]
    band = frames[t, 35 * scale:45 * scale, 10 * scale:30 * scale].astype(int)  # the left side, mid-height
    red = (band[..., 2] > 180) & (band[..., 1] < 120) & (band[..., 0] < 120)
    columns = np.nonzero(red)[1] + 10 * scale
    assert columns.size and abs(columns.mean() - ((20 + 0.5) * scale - 0.5)) <= 0.25


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".gif"])
def test_cine_files_play_back(tmp_path, analysis, suffix):
    path = exports.write_cine(analysis, tmp_path / f"cine{suffix}")
    assert path.stat().st_size > 1000
    if suffix == ".gif":
        import imageio.v3 as iio

        assert iio.imread(path, index=None).shape[0] == analysis.recording.n_frames
    else:
        import cv2

        cap = cv2.VideoCapture(str(path))
        count = 0
        while cap.read()[0]:
            count += 1
        assert count == analysis.recording.n_frames
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(40.0, abs=0.5)


def test_cine_refuses_unknown_format(tmp_path, analysis):
    with pytest.raises(ValueError, match="unsupported cine format"):
        exports.write_cine(analysis, tmp_path / "cine.webm")
    assert not list(tmp_path.iterdir())


def test_one_short_axis_slice_exports_its_area_change(tmp_path):
    """Method single-slice: the report row "Fractional area change (FAC)" and the CSV's fac_pct; no EF."""
    from app.data.recording import Recording, uniform_frame_times
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from tests.test_pipeline_synthetic import _ring_stack

    labels, _ = _ring_stack(1, 20)
    rec = Recording((labels[0] * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(20, 25.0), "mri", "sax")
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels[0]))
    report = report_from_analyses([analysis])
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["fac_pct"].label == "Fractional area change (FAC)" and rows["ef_pct"].value is None
    csv_rows = list(csv.DictReader(exports.write_measurements_csv(report, tmp_path / "m.csv").open(encoding="utf-8")))
    assert float(csv_rows[0]["fac_pct"]) == pytest.approx(analysis.measurements.fac_pct, abs=0.05)
    assert csv_rows[0]["ef_pct"] == "" and all(r["ef_pct"] == "" for r in csv_rows if r["row_type"] == "beat")
    beats = [r for r in csv_rows if r["row_type"] == "beat"]  # each beat's area change, as the JSON gives it
    assert beats and [float(r["fac_pct"]) for r in beats] == pytest.approx(
        [b["fac_pct"] for b in analysis.to_json_dict()["beats"]], abs=0.05)
    assert [b["fac_pct"] for b in exports.measurements_dict(report)["recordings"][0]["beats"]] == [
        pytest.approx(float(r["fac_pct"]), abs=0.05) for r in beats]
    from app.report.exporter import ExportOptions, batch_export

    assert batch_export(ExportOptions(kinds=()))(analysis, tmp_path / "slice").row["fac_pct"] == rows["fac_pct"].text


def test_the_measurements_json_says_who_signed_and_gives_no_placeholder_date():
    """It had the conclusion but not the reviewer or whether it was signed, and an anonymised file's '00000000'
    birth date as if it were one."""
    report = report_from_analyses([synthetic_analysis()], reviewer="Dr Jane Smith")
    report = replace(report, patient=replace(report.patient, birth_date="00000000", study_date="20120000"))
    data = exports.measurements_dict(report)
    assert data["reviewer"] == "Dr Jane Smith" and data["signed"] is True
    assert data["patient"]["birth_date"] == "" and data["patient"]["study_date"] == "20120000"  # a year is known


def test_the_csv_study_row_carries_its_flags_and_whole_numbers_as_printed(tmp_path):
    """The study row (biplane values, LA volume) had no flags where page 1 and the measurements JSON flag its
    values, and a value printed as a whole number ("LA volume 61 ml") read "61.0" in the CSV."""
    from app.workflow.study_result import compose_study

    views = [synthetic_analysis(view=v, seed=i, n_frames=24, path=Path(f"/study/{v}.dcm"))
             for i, v in enumerate(("a4c", "a2c"))]
    report = report_from_analyses(views, study=compose_study(views).measurements)
    study_rows = {r.key: r for r in report.study_rows}
    flagged = [r for r in report.study_rows if r.flag and r.key in exports.CSV_VALUE_KEYS]
    assert flagged, "the synthetic biplane has a flagged value (its EDV is small)"
    rows = list(csv.DictReader(exports.write_measurements_csv(report, tmp_path / "m.csv").open(encoding="utf-8")))
    study = next(r for r in rows if r["row_type"] == "study")
    assert study["flags"].split() == [f"{r.key}:{r.flag}" for r in flagged]
    whole = [k for k, r in study_rows.items() if r.decimals == 0 and r.value is not None and k in study]
    assert whole and all("." not in study[k] for k in whole), {k: study[k] for k in whole}
