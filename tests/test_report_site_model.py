"""Issue 58 in the report: the installed-models list names the site's own echo model (its version and what it
learned from), and the PDF and the DICOM SR name the site model where it drew the contours."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from report_fixtures import analyze_with_labels, synthetic_analysis

from app.ml.site_model import site_root
from app.report.build import report_from_analyses
from app.report.models_info import headline_figures, installed_models
from tests.site_model_fixtures import make_site_model

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
pytestmark = pytest.mark.usefixtures("site_dir")  # each test's own site folder (site_root())


def _site_label() -> str:
    from app.ml.site_model import site_model

    model = site_model()
    assert model is not None
    return model.label


def test_the_models_list_names_the_site_model_after_the_one_it_stands_in_for():
    assert "echo_seg_base (site)" not in [m.name for m in installed_models()]
    make_site_model(site_root(), weights=b"site weights")
    from app.ml.site_model import set_in_use, site_model

    models = installed_models()
    names = [m.name for m in models]
    assert names[names.index("echo_seg_base") + 1] == "echo_seg_base (site)"
    site = models[names.index("echo_seg_base (site)")]
    assert site.version == site_model().sha256[:12] != models[names.index("echo_seg_base")].version
    assert "the shipped echo U-Net fine-tuned on 12 studies (9 patients) of this site's corrected frames" in site.detail
    assert site.detail.endswith("in use")
    set_in_use("echo_seg_base", False)
    assert installed_models()[names.index("echo_seg_base (site)")].detail.endswith(
        "switched off: the shipped model is used")


def test_the_headline_figures_give_the_check_the_site_model_passed():
    assert "echo_seg_base (site)" not in headline_figures()
    make_site_model(site_root(), weights=b"site weights")
    figures = headline_figures()
    assert figures["echo_seg_base (site)"] == "this site's 3 held-out patients: mean Dice 0.884 (shipped model 0.861)"
    assert "LV Dice" in figures["echo_seg_base"]  # the shipped model's own figures stay


def test_the_viewer_and_report_words_name_the_site_model():
    from app.report.plain_words import contour_model, contour_source

    label = "site model of 2026-11-28 (12 studies, abcd1234)"
    assert contour_model("echo_seg_base") == "shipped echo U-Net"
    assert contour_model(f"echo_seg_base + {label} + label hysteresis 0.2", edited=True) == (
        f"echo U-Net, {label}, label hysteresis 0.2, corrected by hand")
    assert contour_model("labels:a4c.truth.npz") == "labels from a4c.truth.npz"
    assert contour_source(f"echo_seg_base + {label} + label hysteresis 0.2").endswith(
        f"(U-Net), {label}, label hysteresis 0.2")


def test_the_pdf_names_the_site_model_and_still_renders(tmp_path):
    from app.report.pdf import write_pdf

    make_site_model(site_root(), weights=b"site weights")
    label = _site_label()
    analysis = replace(synthetic_analysis(path=Path("/study/a4c.dcm")), segmenter=f"echo_seg_base + {label}")
    path = write_pdf(report_from_analyses([analysis]), tmp_path / "site.pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(path)).pages).split())
    assert label in text  # the recording's contour source
    from app.ml.site_model import site_model

    assert "echo_seg_base (site)" in text and site_model().sha256[:12] in text  # the appendix
    assert "fine-tuned on 12 studies" in text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    proc = subprocess.run(["pdftoppm", "-png", "-r", "30", str(path), str(tmp_path / "page")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Error" not in proc.stderr, proc.stderr
    assert len(list(tmp_path.glob("page*.png"))) == len(PdfReader(str(path)).pages)


def _texts(item) -> list[str]:
    """Every TextValue in an SR's content tree."""
    out = [str(item.TextValue)] if "TextValue" in item else []
    for child in getattr(item, "ContentSequence", []):
        out += _texts(child)
    return out


def test_the_sr_names_the_site_model_as_the_segmentation():
    from app.data.readers import load_recording
    from app.report.dicom_results import build_results

    make_site_model(site_root(), weights=b"site weights")
    label = _site_label()
    recording = load_recording(DEMO / "a4c.dcm")
    analysis = analyze_with_labels(recording, np.load(DEMO / "a4c.truth.npz")["labels"])
    analysis = replace(analysis, segmenter=f"echo_seg_base + {label}")
    sr = build_results([analysis], with_pdf=False).sr
    assert {"segmentation: echo_seg_base", f"segmentation: {label}"} <= set(_texts(sr))


def test_the_report_names_every_dataset_a_shipped_model_learned_from():
    """The appendix's "trained on" words are written for readers, apart from the model cards: each dataset a
    card's provenance names must be in them (the echo U-Net's read CAMUS only after its clinical-clip fine-tune; an
    MRI report said the ED/ES model learned echo clips only, while it learned phantom cine MR too)."""
    from app.ml.model_card import load_card
    from app.paths import models_dir
    from app.report.plain_words import MODEL_WORDS

    for name, (_, words) in MODEL_WORDS.items():
        data = load_card(models_dir() / name / "metadata.json").provenance.data
        for dataset in ("CAMUS", "ACDC", "EchoNet", "cine MR"):
            assert (dataset in data) <= (dataset in words), f"{name}: {dataset}"
