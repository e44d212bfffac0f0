"""app.workflow.autosave_thread.BackgroundSaver: the autosave's writes in a thread of their own, in order, the newest
state of a recording last, failures kept for the caller."""

from __future__ import annotations

import json
import threading

from app.workflow.autosave_thread import BackgroundSaver


def test_documents_are_written_in_order_by_the_autosave_thread_the_newest_of_a_key_last():
    started, gate, written, threads = threading.Event(), threading.Event(), [], set()

    def save(document, key):
        threads.add(threading.current_thread().name)
        if not written:
            started.set()
            gate.wait(10)  # the first write is slow: the others queue behind it
        written.append((key, document["n"]))
        return None

    saver = BackgroundSaver(save)
    saver.submit("a", {"n": 1})
    assert started.wait(10)  # being written
    saver.submit("b", {"n": 1})
    saver.submit("a", {"n": 2})  # replaces a's waiting state ...
    saver.submit("a", {"n": 3})  # ... and so does this one
    assert saver.pending()
    gate.set()
    assert saver.wait() == {}
    assert written == [("a", 1), ("b", 1), ("a", 3)]
    assert threads == {"cardiotrace-autosave"} and not saver.pending()


def test_a_failed_write_is_kept_until_taken_and_reported_to_the_callback():
    reports = []

    def save(document, key):
        if key == "full":
            raise OSError("No space left on device")
        if key == "bug":
            raise ValueError("not JSON")
        return key

    saver = BackgroundSaver(save)
    for key in ("full", "ok", "bug"):
        saver.submit(key, {}, lambda *args: reports.append(args))
    assert saver.wait() == {"full": "No space left on device", "bug": "ValueError: not JSON"}
    assert saver.wait() == {}  # taken
    assert reports == [("full", None, "No space left on device"), ("ok", "ok", ""),
                       ("bug", None, "ValueError: not JSON")]
    finished = threading.Event()
    saver.submit("full", {}, lambda *args: finished.set())  # the thread goes on after failures
    assert finished.wait(10)
    assert saver.take_failure("full") == "No space left on device" and saver.take_failure("full") is None
    assert saver.wait() == {}  # taken by take_failure


def test_the_real_autosave_is_written_whole(tmp_path, monkeypatch):
    from app.workflow import autosave

    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path))
    saver = BackgroundSaver()
    done = []
    key = "0123456789abcdef" * 2
    saver.submit(key, {"format": "cardiotrace-study", "n": list(range(1000))}, lambda *a: done.append(a))
    assert saver.wait() == {}
    path = autosave.saved_path(key)
    assert done == [(key, path, "")]
    assert json.loads(path.read_text())["n"][-1] == 999


def test_wait_returns_at_once_when_nothing_was_given():
    saver = BackgroundSaver(lambda document, key: None)
    assert saver.wait() == {} and not saver.pending()
