"""The analysis shows its contours as they come: the segmenting step publishes each traced frame
(Progress.partial), the worker batches them (at most ~10 per second), the viewer draws them before the
analysis ends, and a cancel mid-stream leaves the viewer as it was."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.analysis.contours import extract_contours
from app.analysis.partial import FrameLabels, TracedFrame
from app.tasks import Progress, run_task
from app.workflow.segment_step import segment_and_trace
from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")


def streaming_segmenter(labels: np.ndarray, delay_s: float = 0.0, rewrite_frame: int | None = None):
    """A segmenter that fills its label array frame by frame and publishes each frame as final (as the echo
    network does); `rewrite_frame` breaks that promise: that frame is changed after it was published."""

    def segment(recording, cancel=None):
        out = np.zeros_like(labels)
        for t in range(len(labels)):
            time.sleep(delay_s)
            out[t] = labels[t]
            yield Progress((t + 1) / len(labels), "segmenting", FrameLabels(t, out[t]))
        if rewrite_frame is not None:
            out[rewrite_frame] = labels[rewrite_frame - 1]
        yield out

    return segment


def traced_items(task) -> tuple[list[TracedFrame], object]:
    items, result = [], None
    for item in task:
        if isinstance(item, Progress):
            if item.partial is not None:
                items.append(item.partial)
        else:
            result = item
    return items, result


def test_each_frame_is_published_once_while_segmenting_and_the_result_is_unchanged():
    rec, labels = synthetic_echo(10)
    items, traced = traced_items(segment_and_trace(rec, streaming_segmenter(labels)))
    assert [p.frame for p in items] == list(range(10))  # all while segmenting: none again while tracing
    for p in items:
        assert p.contours is traced.contours[p.frame]  # the published contours are the result's
        np.testing.assert_allclose(p.contours.endo_px, extract_contours(labels[p.frame]).endo_px)


def test_a_frame_changed_after_publishing_is_traced_again():
    rec, labels = synthetic_echo(10)
    items, traced = traced_items(segment_and_trace(rec, streaming_segmenter(labels, rewrite_frame=6)))
    assert [p.frame for p in items] == list(range(10)) + [6]
    np.testing.assert_allclose(traced.contours[6].endo_px, extract_contours(labels[5]).endo_px)
    assert not np.array_equal(items[6].contours.endo_px, traced.contours[6].endo_px)  # the first one was stale


def test_a_segmenter_without_partials_still_streams_while_tracing():
    rec, labels = synthetic_echo(12)
    items, traced = traced_items(segment_and_trace(rec, lambda recording: labels))
    assert [p.frame for p in items] == list(range(12))
    assert all(p.contours is traced.contours[p.frame] for p in items)


def test_the_echo_network_publishes_its_final_labels_frame_by_frame():
    from app.ml.inference import segment_recording

    rec, _ = synthetic_echo(4)
    published = {}
    result = run_task(segment_recording(rec, "base"),
                      lambda p: published.update({p.partial.frame: p.partial.labels.copy()}) if p.partial else None)
    assert sorted(published) == [0, 1, 2, 3]
    for t, frame_labels in published.items():
        np.testing.assert_array_equal(frame_labels, result.labels[t])


def test_the_viewer_draws_contours_before_the_analysis_ends(make_window, qtbot):
    window = make_window()
    rec, labels = synthetic_echo(40)
    window.controller.segmenter_for = lambda recording: streaming_segmenter(labels, delay_s=0.03)
    window.controller.add_recording(rec)
    window.cine.set_frame(5)
    counts, drawn, batches = [], [], []

    def on_traced(index, keys):
        batches.append(time.monotonic())
        counts.append(len(window.controller.traced(index)))
        drawn.append(window.overlays.items["endo"].getData()[0] is not None)

    window.controller.analysis_traced.connect(on_traced)
    measured_ef = []  # the EF on screen once measured, while the strain still runs
    window.controller.analysis_measured.connect(
        lambda i, a: measured_ef.append((window.measurements.values.get("ef_pct"), window.study[0].measurements)))
    started = time.monotonic()
    with qtbot.waitSignal(window.controller.analysis_done, timeout=60000) as blocker:
        window.analyze_current()
    elapsed = time.monotonic() - started
    assert blocker.args == [0, True]
    assert len(measured_ef) == 1 and measured_ef[0][1] is None  # shown before the result was taken
    assert measured_ef[0][0] == pytest.approx(window.study[0].measurements.ef_pct)
    assert len(counts) >= 3 and counts == sorted(counts) and counts[0] < 40  # grew while the clip was segmented
    assert any(drawn) and window.study[0].contours  # frame 5 drawn before the end; then the result took over
    assert len(batches) <= elapsed / 0.1 + 2  # throttled: at most ~10 redraws a second
    assert window.controller.traced(0) == {}


def test_cancel_mid_stream_leaves_the_viewer_usable(make_window, qtbot, dialogs_seen):
    window = make_window()
    rec, labels = synthetic_echo(60)
    window.controller.segmenter_for = lambda recording: streaming_segmenter(labels, delay_s=0.05)
    window.controller.add_recording(rec)
    window.cine.set_frame(0)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000) as blocker:
        window.analyze_current()
        qtbot.waitUntil(lambda: len(window.controller.traced(0)) >= 3, timeout=20000)
        assert window.overlays.items["endo"].getData()[0] is not None  # frame 0 is drawn
        qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert blocker.args == [0, False] and not dialogs_seen
    qtbot.wait(50)
    assert window.controller.traced(0) == {} and window.study[0].contours == {}
    assert window.overlays.items["endo"].getData()[0] is None  # the partial contours are gone
    window.controller.segmenter_for = lambda recording: streaming_segmenter(labels)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=60000) as blocker:
        window.analyze_current()
    assert blocker.args == [0, True] and len(window.study[0].contours) == 60
