"""Issue 58 in the viewer: the switch between the site's own echo model and the shipped one (Analysis menu), and
the measurements panel naming the model that drew the contours on screen."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu

from tests.site_model_fixtures import make_site_model
from tests.ui_fixtures import dialogs_seen, fake_analysis, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")


def test_the_site_model_switch_is_offered_only_with_a_site_model(make_window, site_dir):
    from app.ml.site_model import site_model

    action = make_window().window_actions.site_model.action
    assert not action.isEnabled() and not action.isChecked() and "No site model yet" in action.toolTip()

    make_site_model(site_dir, weights=b"site weights")
    menus = [m for m in action.associatedObjects() if isinstance(m, QMenu)]
    assert [m.title() for m in menus] == ["&Analysis"]
    menus[0].aboutToShow.emit()  # opening the menu reads the site folder again
    label = site_model().label
    assert action.isEnabled() and action.isChecked()  # adapted = in use, until switched off
    assert label in action.toolTip() and "0.884" in action.toolTip() and "0.861" in action.toolTip()
    assert make_window().window_actions.site_model.action.isEnabled()  # a new window finds it too


def test_switching_the_site_model_off_and_on_is_kept_and_said(make_window, site_dir):
    from app.ml.site_model import active_site_model, site_model

    make_site_model(site_dir, weights=b"site weights")
    window = make_window()
    action = window.window_actions.site_model.action
    action.trigger()
    assert not site_model().in_use and active_site_model() is None
    message = window.statusBar().currentMessage()
    assert "shipped echo model" in message and "re-analyse" in message
    assert not make_window().window_actions.site_model.action.isChecked()  # kept across windows and sessions

    action.trigger()
    assert site_model().in_use and active_site_model() is not None
    assert site_model().label in window.statusBar().currentMessage()


@pytest.mark.parametrize("site", [True, False])
def test_the_panel_names_the_model_that_drew_the_contours(make_window, site_dir, qtbot, site):
    make_site_model(site_dir, weights=b"site weights")
    from app.ml.site_model import site_model

    label = site_model().label
    window = make_window()
    rec, labels = synthetic_echo(24)
    analysis = fake_analysis(labels, es_frames=(12,))
    analysis.segmenter = f"echo_seg_base + {label}" if site else "echo_seg_base"
    window.study.set_analysis(window.controller.add_recording(rec), analysis)
    qtbot.waitUntil(lambda: "Contours:" in window.measurements.method.text(), timeout=5000)
    text = window.measurements.method.text()
    if site:
        assert f"Contours: echo U-Net, {label}" in text
    else:
        assert "Contours: shipped echo U-Net" in text and "site model" not in text


def test_the_about_box_lists_the_site_model_and_its_check(site_dir):
    from app.ml.site_model import site_model
    from app.ui.study_dialogs import about_html

    assert "(site)" not in about_html()
    make_site_model(site_dir, weights=b"site weights")
    html = about_html()
    assert f"<b>echo_seg_base (site)</b> (version {site_model().sha256[:12]})" in html
    assert "fine-tuned on 12 studies" in html and "mean Dice 0.884 (shipped model 0.861)" in html
