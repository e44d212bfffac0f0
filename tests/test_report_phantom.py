"""The report and exports of a phantom recording analyzed with its truth labels (no model needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_fixtures import analyze_with_labels

from app.data import phantom
from app.report.build import report_from_analyses
from app.report.exports import measurements_dict, write_cine
from app.report.pdf import write_pdf


@pytest.fixture(scope="module")
def case():
    params = phantom.EchoPhantomParams(heart=phantom.HeartParams(edv_ml=120, esv_ml=50), view="a4c", beats=1,
                                       frame_rate_hz=25, image_shape_px=(160, 160))
    made = phantom.make_echo(params, seed=3)
    rec = replace(made.recording, source_path=Path("/phantom/a4c_seed3.dcm"))
    return made, analyze_with_labels(rec, made.truth.labels)


def test_phantom_report_prints_the_measured_ef_near_the_truth(tmp_path, case):
    made, analysis = case
    report = report_from_analyses([analysis])
    rows = {r.key: r for r in report.recordings[0].measurements}
    truth_ef = 100.0 * (1 - 50 / 120)
    assert rows["ef_pct"].value == pytest.approx(truth_ef, abs=0.8)  # exact labels: measured -0.25 points
    path = write_pdf(report, tmp_path / "phantom.pdf", "Letter")
    text = "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)
    for key, row in measurements_dict(report)["recordings"][0]["measurements"].items():
        if row["value"] is not None:
            assert row["text"] in text, key
    assert "a4c_seed3.dcm" in text and "truth labels" in text
    # ED/ES frames drawn: two raster images, the contours are vector paths on top
    images = [name for page in PdfReader(str(path)).pages for name in page.images]
    assert len(images) == 2


def test_phantom_report_with_computed_strain(tmp_path, case):
    """Strain from the strain pipeline (classical motion) appears in the table and as curves."""
    from app.tasks import run_task
    from app.workflow.strain_step import strain_step

    made, analysis = case
    with_s = run_task(strain_step(analysis))
    strain = with_s.strain
    assert strain is not None and not with_s.strain_error
    assert strain.gls_pct == pytest.approx(float(made.truth.gls_pct.min()), abs=0.7)  # measured -0.19 points
    report = report_from_analyses([with_s])
    rec = report.recordings[0]
    assert rec.strain is not None and rec.strain.gls_pct == pytest.approx(strain.gls_pct)
    assert rec.strain.segment_names == strain.segment_names
    gls = next(r for r in rec.measurements if r.key == "gls_pct")
    text = "\n".join(p.extract_text() for p in PdfReader(str(write_pdf(report, tmp_path / "s.pdf"))).pages)
    assert gls.text in text and "not computed." not in text
    assert "Peak systolic segmental strain" in text


def test_phantom_cine_gif(tmp_path, case):
    import imageio.v3 as iio

    _made, analysis = case
    gif = iio.imread(write_cine(analysis, tmp_path / "a4c.gif"), index=None)
    assert gif.shape[0] == analysis.recording.n_frames and gif.shape[1] >= 360
