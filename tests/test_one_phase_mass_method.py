"""The myocardial mass of a one-phase short-axis stack is that phase's, whose timing in the cycle is unknown (an ACDC
frameES file reads as well as a frameED one): its method says so, not "at ED", in the report's rows, its JSON export,
its CSV (which carries no mass method) and the PDF; a cine or an ED/ES pair keeps "at ED"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.data.recording import Recording, uniform_frame_times
from app.report.build import MASS_METHOD_AT_ED, MASS_METHOD_ONE_PHASE, report_from_analyses
from app.report.exports import measurements_dict
from app.tasks import run_task
from app.workflow.analyze import analyze_recording


def _phase_labels(lv_r: float, n_slices: int = 4, shape=(64, 64)) -> np.ndarray:
    """(S, H, W): an LV pool of radius lv_r in a 4-px wall."""
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    d2 = (rr - 32) ** 2 + (cc - 30) ** 2
    one = np.where(d2 <= lv_r ** 2, 1, np.where(d2 <= (lv_r + 4) ** 2, 2, 0)).astype(np.uint8)
    return np.repeat(one[None], n_slices, axis=0)


def _analysis(labels: np.ndarray):
    """labels (S, T, H, W) as the segmentation of a 1.5 mm, 8 mm-slice MRI stack whose images are its labels."""
    rec = Recording(frames=(labels * 60).astype(np.float32), frame_times_s=uniform_frame_times(labels.shape[1], 25.0),
                    modality="mri", view="sax", spacing_mm=(1.5, 1.5), calibrated=True, slice_spacing_mm=8.0)
    return run_task(analyze_recording(rec, segmenter=lambda r: labels))


def _mass_method(analysis) -> str:
    rows = {row.key: row for row in report_from_analyses([analysis]).recordings[0].measurements}
    assert rows["lv_mass_g"].value is not None and rows["lv_mass_g"].value > 0
    return rows["lv_mass_g"].method


def test_a_one_phase_stacks_mass_is_not_said_to_be_at_ed(tmp_path: Path):
    analysis = _analysis(_phase_labels(12)[:, None])
    assert analysis.measurements.n_frames == 1 and not analysis.measurements.ed_frames
    method = _mass_method(analysis)
    assert method == MASS_METHOD_ONE_PHASE and "at ED" not in method and "ED not known" in method
    exported = measurements_dict(report_from_analyses([analysis]))["recordings"][0]["measurements"]["lv_mass_g"]
    assert exported["method"] == MASS_METHOD_ONE_PHASE


def test_the_pdf_says_the_one_phase(tmp_path: Path):
    from pypdf import PdfReader

    from app.report.pdf import write_pdf

    path = write_pdf(report_from_analyses([_analysis(_phase_labels(12)[:, None])]), tmp_path / "one.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())
    assert "myo volume of the one phase" in text and "myo volume at ED" not in text


@pytest.mark.parametrize("n_frames", [2, 20])
def test_an_ed_es_pair_or_a_cine_keeps_at_ed(n_frames):
    radii = 12 - 4 * np.sin(np.pi * np.arange(n_frames) / n_frames) if n_frames > 2 else np.array([12.0, 8.0])
    labels = np.stack([_phase_labels(float(r)) for r in radii], axis=1)
    analysis = _analysis(labels)
    assert analysis.measurements.ed_frames
    assert _mass_method(analysis) == MASS_METHOD_AT_ED
