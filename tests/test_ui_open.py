"""Opening a file in the viewer reads it in a worker (app/ui/file_open.py, issue 33): the GUI thread goes on,
the recording is shown when it arrives, errors are one dialog, edits in progress are never disturbed."""

from __future__ import annotations

import threading

import pytest

from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401


def _write(tmp_path, name: str, view: str = "a4c"):
    from app.data.writers import write_recording

    rec, _ = synthetic_echo(12, view=view)  # one patient: every file joins the same study
    return write_recording(rec, tmp_path / f"{name}.dcm")


def _threads_running(monkeypatch, module, name: str) -> list:
    """The threads module.name runs in, from now on (appended as it is called)."""
    seen = []
    original = getattr(module, name)

    def recording_thread(*args, **kwargs):
        seen.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording_thread)
    return seen


@pytest.fixture
def read_threads(monkeypatch):
    """The threads the reader ran in."""
    import app.data.readers as readers

    return _threads_running(monkeypatch, readers, "load_recording")


def test_the_file_is_read_in_a_worker_and_shown_when_it_arrives(make_window, tmp_path, read_threads):
    path = _write(tmp_path, "clip")
    window = make_window()
    window.open_paths([str(path)])
    assert len(window.study) == 0 and window.opener.busy()  # open_paths returned before the read
    assert window.statusBar().currentMessage() == "Opening clip.dcm…"
    assert window.opener.wait_opened()
    assert read_threads and read_threads[0] is not threading.main_thread()
    assert len(window.study) == 1 and window.index == 0
    assert window.cine.image.image is not None  # its first frame is on screen
    assert window.window_actions.recent()[0] == str(path)
    window.open_paths([str(path)])  # open already: focused, not read again
    assert not window.opener.busy() and len(read_threads) == 1


def test_a_folder_is_listed_in_a_worker_and_its_series_chosen_on_the_gui_thread(make_window, tmp_path, monkeypatch,
                                                                                read_threads):
    import app.data.readers as readers
    from app.ui import dialogs

    folder = tmp_path / "study"
    folder.mkdir()
    _write(folder, "a4c")
    _write(folder, "a2c", view="a2c")
    listed, chosen = [], []
    original = readers.list_series
    monkeypatch.setattr(readers, "list_series", lambda *a, **k: (listed.append(threading.current_thread()),
                                                                 original(*a, **k))[1])
    monkeypatch.setattr(dialogs, "choose_series", lambda parent, series: (
        chosen.append(threading.current_thread()), [series[-1].key])[1])
    window = make_window()
    window.open_paths([str(folder)])
    assert window.opener.wait_opened()
    assert listed and listed[0] is not threading.main_thread()
    assert chosen == [threading.main_thread()]
    assert len(window.study) == 1 and read_threads and read_threads[-1] is not threading.main_thread()


def test_files_are_placed_in_the_order_asked_and_a_repeat_request_is_ignored(make_window, tmp_path):
    first, second = _write(tmp_path, "first"), _write(tmp_path, "second", view="a2c")
    window = make_window()
    window.open_paths([str(first), str(second), str(first)])
    assert "being opened" in window.statusBar().currentMessage()
    assert window.opener.wait_opened()
    assert [st.recording.source_path.name for st in window.study.recordings] == ["first.dcm", "second.dcm"]


def test_a_recording_waits_while_a_contour_is_dragged_and_no_edit_is_lost(make_window, tmp_path, qtbot,
                                                                         monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.workflow import autosave

    first, second = _write(tmp_path, "first"), _write(tmp_path, "second", view="a2c")
    window = make_window()
    window.open_paths([str(first)])
    assert window.opener.wait_opened()
    window.mark_current("es")  # an edit of the recording on screen, waiting for the debounced autosave
    assert window.controller.scheduler.pending
    buttons = [Qt.LeftButton]  # the user is dragging a control point
    monkeypatch.setattr(QApplication, "mouseButtons", staticmethod(lambda: buttons[0]))
    window.open_paths([str(second)])
    qtbot.waitUntil(lambda: window.opener.worker is None, timeout=20000)  # read, held back
    qtbot.wait(250)
    assert len(window.study) == 1 and window.index == 0 and window.opener.busy()
    buttons[0] = Qt.NoButton  # released: the recording comes in
    assert window.opener.wait_opened()
    assert len(window.study) == 2 and window.index == 1
    assert window.study[0].edes_edited  # the edit is in the study ...
    assert not window.controller.scheduler.pending  # ... and was saved before the switch
    saved = autosave.find_saved(window.study.save_key(0), first, window.study[0].recording.series_description)
    assert saved is not None and saved.data["edited"]


def test_the_saved_work_is_restored_in_the_worker_and_the_gui_only_adds_it(make_window, tmp_path, monkeypatch):
    """Reopening a recording with saved work: reading the autosave, restoring and measuring it (label maps drawn
    from every frame's contours) ran on the GUI thread and stalled the window; now the reading worker does it."""
    import app.workflow.reopen as reopen

    path = _write(tmp_path, "clip")
    first = make_window()
    first.open_paths([str(path)])
    assert first.opener.wait_opened()
    first.mark_current("es")
    es_frames = first.study[0].es_frames
    first.close()  # saves the edit; the recording is no longer open anywhere
    restored_in = _threads_running(monkeypatch, reopen, "restore_into")
    window = make_window()
    window.open_paths([str(path)])
    assert window.opener.wait_opened()
    assert restored_in and restored_in[0] is not threading.main_thread()
    assert window.study[0].edes_edited and window.study[0].es_frames == es_frames
    assert window.statusBar().currentMessage().startswith("Restored the saved analysis and edits of")


def test_a_corrupt_file_is_one_error_and_the_next_file_still_opens(make_window, tmp_path, dialogs_seen):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    good = _write(tmp_path, "good")
    window = make_window()
    window.open_paths([str(bad), str(good)])
    assert window.opener.wait_opened()
    assert [d[1] for d in dialogs_seen] == ["Cannot open"] and "broken.dcm" in dialogs_seen[0][2]
    assert "\n" in dialogs_seen[0][2] and "Traceback" not in dialogs_seen[0][2]
    assert [st.recording.source_path.name for st in window.study.recordings] == ["good.dcm"]


def test_several_broken_files_are_one_dialog_naming_each(make_window, tmp_path, dialogs_seen):
    """Opening four files of which three are broken: the good one opens and one dialog lists the three."""
    broken = []
    for name in ("a.dcm", "b.avi", "c.nii.gz"):
        (tmp_path / name).write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4 if name.endswith("dcm")
                                      else b"not a recording")
        broken.append(tmp_path / name)
    good = _write(tmp_path, "good")
    window = make_window()
    window.open_paths([str(broken[0]), str(good), *map(str, broken[1:])])
    assert window.opener.wait_opened()
    assert [d[1] for d in dialogs_seen] == ["Cannot open"]
    text = dialogs_seen[0][2]
    assert text.startswith(f"3 recordings could not be opened in {tmp_path}:")
    assert all(f"\n{path.name}: " in text for path in broken) and "Traceback" not in text
    assert [st.recording.source_path.name for st in window.study.recordings] == ["good.dcm"]


def test_a_video_that_ends_early_opens_with_its_note_in_the_header(make_window, tmp_path):
    """The frames before the cut are shown, and the header says the file is cut short before any analysis."""
    from readers_helpers import write_video_cut_short

    rec, _ = synthetic_echo(20)
    path = write_video_cut_short(tmp_path / "a4c_clip.avi", rec.frames)
    window = make_window()
    window.open_paths([str(path)])
    assert window.opener.wait_opened()
    n = window.study[0].recording.n_frames
    assert 5 < n < 20 and f"{n} frames" in window.header.text()
    assert f"the video ends early: {n} of the 20 frames its header announces could be read" in window.header.text()


def test_closing_the_window_while_a_file_is_read_stops_it(make_window, tmp_path, qtbot):
    from app.ui.workers import active_workers

    window = make_window()
    window.open_paths([str(_write(tmp_path, "clip")), str(_write(tmp_path, "other", view="a2c"))])
    assert window.opener.busy()
    assert window.close()  # cancels the read and joins its thread
    assert not window.opener.busy() and not active_workers()
    qtbot.wait(100)  # the worker's last signals arrive: nothing is placed in the closed window
    assert len(window.study) == 0
