"""The viewer's PACS side against the live Orthanc: File ▸ Open from PACS… finds the demo study, retrieves
it in a worker with progress, opens it through the readers, the study is analyzed, and File ▸ Send
results to PACS… stores SR + SEG + PDF back in the same study; a dead node is one line within 10 s and
the window stays usable; a cancelled retrieval opens nothing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.pacs import retrieve
from app.pacs.nodes import parse_dimse
from tests.orthanc_fixtures import DEMO, free_port
from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left  # noqa: F401

pytest.importorskip("pytestqt")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _search(browser, qtbot, **fields):
    for name, value in fields.items():
        getattr(browser, f"{name}_edit").setText(value)
    with qtbot.waitSignal(browser.searched, timeout=30000):
        qtbot.mouseClick(browser.search_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not browser.busy(), timeout=30000)  # then the series of the first study


def test_open_from_pacs_analyze_and_send_back(make_window, qtbot, orthanc, cache_dir, dialogs_seen, tmp_path):
    window = make_window()
    truth = np.load(DEMO / "a4c.truth.npz")["labels"]
    window.controller.segmenter_for = lambda recording: (lambda r: truth)
    browser = window.window_actions.pacs.open_browser()
    browser.node_edit.setText(orthanc.node)
    _search(browser, qtbot, id="PHANTOM-1")
    browser.modality.setCurrentText("US")
    _search(browser, qtbot, id="PHANTOM-1")
    assert [s.study_uid for s in browser.studies] == [orthanc.echo_study_uid]
    qtbot.waitUntil(lambda: browser.series_table.rowCount() >= 2 and not browser.busy(), timeout=30000)
    us_rows = [r for r, s in enumerate(browser.series) if s.modality == "US"]
    browser.series_table.selectRow(us_rows[0])  # the A4C clip (series 1)
    with qtbot.waitSignal(browser.opened, timeout=120000) as opened:
        qtbot.mouseClick(browser.open_button, Qt.LeftButton)
        assert browser.progress.isVisible() and browser.cancel_button.isVisible()
    assert len(opened.args[0]) == 1 and str(cache_dir) in opened.args[0][0]
    assert window.opener.wait_opened()  # the retrieved series is read in a worker
    assert len(window.study) == 1 and window.study[0].recording.frames.shape == truth.shape
    with qtbot.waitSignal(window.controller.analysis_done, timeout=300000) as done:  # torch loads ED/ES model
        window.analyze_current()
    assert done.args[1] is True
    worker = window.window_actions.pacs.send(orthanc.node)
    qtbot.waitUntil(lambda: window.window_actions.pacs.worker is None, timeout=120000)
    assert not dialogs_seen, dialogs_seen
    assert "Stored 3 objects" in window.statusBar().currentMessage()
    assert "preliminary" in window.statusBar().currentMessage()
    kinds = {s.modality for s in retrieve.find_series(parse_dimse(orthanc.node), orthanc.echo_study_uid)}
    assert {"SR", "SEG", "DOC"} <= kinds
    assert worker is not None

    # Issue 54 item 2: signed, then sent again. What leaves is the report signed in the window, and it says
    # that it amends the preliminary results sent first.
    window.study.set_conclusion("Normal LV size and function.", "Jane Smith")
    window.window_actions.pacs.send(orthanc.node)
    qtbot.waitUntil(lambda: window.window_actions.pacs.worker is None, timeout=120000)
    assert "signed by Jane Smith" in window.statusBar().currentMessage(), window.statusBar().currentMessage()
    assert len(window.study.sent) == 2
    stored = _stored_results(orthanc, tmp_path)
    latest = max((ds for ds in stored if ds.Modality == "SR"), key=lambda ds: str(ds.ContentTime))
    assert latest.VerificationFlag == "VERIFIED" and latest.PreliminaryFlag == "FINAL"
    assert "amends" in latest.SeriesDescription
    pdf_text = [_pdf_text(ds) for ds in stored if ds.Modality == "DOC"]
    assert any("Normal LV size and function." in t and "Jane Smith" in t for t in pdf_text), pdf_text
    assert any("Preliminary, not signed" in t for t in pdf_text)  # the first send stays, saying what it was


def _stored_results(orthanc, tmp_path) -> list:
    """Every SR and Encapsulated PDF stored in the demo echo study, retrieved back from the node."""
    from pathlib import Path

    import pydicom

    from app.pacs.cache import SeriesCache
    from app.tasks import run_task

    node = parse_dimse(orthanc.node)
    series = [s.series_uid for s in retrieve.find_series(node, orthanc.echo_study_uid) if s.modality in ("SR", "DOC")]
    got = run_task(retrieve.retrieve_study(node, orthanc.echo_study_uid, series, cache=SeriesCache(tmp_path / "back")))
    return [pydicom.dcmread(f) for s in got for f in sorted(Path(s.folder).glob("*.dcm"))]


def _pdf_text(ds) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    from app.report.dicom_pdf import pdf_bytes

    return " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf_bytes(ds))).pages).split())


def test_dead_node_is_one_line_within_10_s_and_window_usable(make_window, qtbot, orthanc, cache_dir):
    window = make_window()
    browser = window.window_actions.pacs.open_browser()
    browser.node_edit.setText(f"ORTHANC@127.0.0.1:{free_port()}")
    start = time.monotonic()
    qtbot.mouseClick(browser.search_button, Qt.LeftButton)
    assert browser.busy()
    window.cine.step(1)  # the window answers while the search runs
    qtbot.waitUntil(lambda: not browser.busy(), timeout=30000)
    assert time.monotonic() - start < 10
    text = browser.status.text()
    assert text.startswith("Search failed") and "\n" not in text and "connection refused" in text
    assert browser.search_button.isEnabled()


def test_cancelled_retrieval_opens_nothing(make_window, qtbot, orthanc, cache_dir):
    window = make_window()
    browser = window.window_actions.pacs.open_browser()
    browser.node_edit.setText(orthanc.node)
    browser.modality.setCurrentText("MR")
    _search(browser, qtbot)
    qtbot.waitUntil(lambda: browser.series_table.rowCount() >= 1 and not browser.busy(), timeout=30000)
    qtbot.mouseClick(browser.open_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: browser.progress.value() > 0, timeout=60000)
    qtbot.mouseClick(browser.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not browser.busy(), timeout=60000)
    assert "cancelled" in browser.status.text()
    assert len(window.study) == 0
    assert not list(cache_dir.rglob("*.dcm"))
