"""Autosave rules pinned against the survivors of `benchmarks/mutation.py autosave` (issue 36): where the work
is kept, the exact legacy file names earlier versions wrote (so old work is still found), folder creation, the
error a failed save reports, which legacy file wins, when a saved state belongs to a recording, and the
debounce bookkeeping. Values are computed by hand from the documented rules (sha1 / the 24-character slug).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from app.data.recording import Recording
from app.workflow import autosave


def _recording(path: Path | None = None, series: str = "A4C") -> Recording:
    return Recording(frames=np.zeros((3, 8, 8), np.uint8), spacing_mm=(0.5, 0.5), frame_times_s=np.arange(3) / 30.0,
                     modality="echo", view="a4c", source_path=path, series_description=series)


def test_the_data_folder_without_environment_settings_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CARDIOTRACE_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autosave.user_data_dir() == tmp_path / ".local" / "share" / "cardiotrace" / "autosave"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert autosave.user_data_dir() == tmp_path / "xdg" / "cardiotrace" / "autosave"


def test_legacy_file_names_are_exactly_what_earlier_versions_wrote(tmp_path, monkeypatch):
    """A folder's side-car: `<folder>.<slug of the series, 24 characters>-<sha1 of the series, 6 hex>.cardiotrace.json`;
    the per-path fallback: `<name><tag>-<sha1 of the resolved path, 12 hex>.cardiotrace.json` in the data folder."""
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    folder = tmp_path / "mr"
    folder.mkdir()
    series = "SAX cine retro / breath-hold 8 mm (stack)"
    slug = "SAX-cine-retro-breath-hold-8-mm-stack"[:24]
    tag = f".{slug}-{hashlib.sha1(series.encode()).hexdigest()[:6]}"
    assert autosave.sidecar_path(folder, series) == tmp_path / f"mr{tag}.cardiotrace.json"
    path_digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    assert autosave.fallback_path(folder, series) == tmp_path / "userdata" / f"mr{tag}-{path_digest}.cardiotrace.json"


def test_write_atomic_creates_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c" / "x.cardiotrace.json"
    autosave.write_atomic(target, {"format": "cardiotrace-study", "edits": [1, 2]})
    assert autosave.read(target)["edits"] == [1, 2]


def test_a_failed_save_says_where_and_why_in_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "userdata"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(blocker / "sub"))
    key = "0123456789abcdef"
    with pytest.raises(OSError) as info:
        autosave.save({"format": "cardiotrace-study"}, key)
    message = str(info.value)
    assert message.startswith(f"could not autosave to {blocker / 'sub' / (key + '.cardiotrace.json')}: ")
    assert message.endswith(": Not a directory") and "\n" not in message and "Errno" not in message


def test_the_newest_legacy_file_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    source = tmp_path / "clip.dcm"
    source.write_bytes(b"x")
    old, new = autosave.sidecar_path(source), autosave.fallback_path(source)
    autosave.write_atomic(old, {"format": "cardiotrace-study", "which": "old"})
    autosave.write_atomic(new, {"format": "cardiotrace-study", "which": "new"})
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))
    os.utime(new, ns=(2_000_000_000, 2_000_000_000))
    found = autosave.find_saved("0123456789abcdef", source)
    assert found.legacy and found.path == new and found.data["which"] == "new"
    os.utime(old, ns=(3_000_000_000, 3_000_000_000))
    assert autosave.find_saved("0123456789abcdef", source).path == old


def test_a_saved_state_matches_only_its_own_recording(tmp_path):
    source = tmp_path / "clip.dcm"
    source.write_bytes(b"12345")
    rec = _recording(source)
    # keyed files: the content key decides, whatever the fingerprint says
    assert autosave.matches_source({"source": {"content_key": "aa11", "shape": [9]}}, rec, "aa11")
    assert not autosave.matches_source({"source": {"content_key": "bb22", **autosave.source_fingerprint(rec)}},
                                       rec, "aa11")
    # legacy files without a key: shape, size and series must agree
    legacy = {"source": autosave.source_fingerprint(rec)}
    assert legacy["source"]["size"] == 5 and legacy["source"]["shape"] == [3, 8, 8]
    assert autosave.matches_source(legacy, rec, "aa11") and autosave.matches_source(legacy, rec)
    assert not autosave.matches_source({"source": {**legacy["source"], "shape": [4, 8, 8]}}, rec)
    assert not autosave.matches_source({"source": {**legacy["source"], "size": 6}}, rec)
    assert not autosave.matches_source({"source": {**legacy["source"], "series": "A2C"}}, rec)
    assert autosave.matches_source({"source": {"shape": [3, 8, 8]}}, rec)  # older files without size/series


def test_the_scheduler_waits_for_the_debounce_and_forgets_closed_recordings():
    now = [100.0]
    sched = autosave.AutosaveScheduler(delay_s=1.5, clock=lambda: now[0])
    assert not sched.pending and not sched.due()
    now[0] = 200.0  # long after construction, nothing marked: nothing is due
    assert not sched.due()
    sched.mark(2)
    now[0] = 201.0
    assert sched.pending and not sched.due()
    now[0] = 201.5
    assert sched.due()  # exactly the debounce delay after the last edit
    sched.mark(4)
    sched.last_results = [autosave.SaveResult(1, None, "e1"), autosave.SaveResult(2, None, "e2"),
                          autosave.SaveResult(3, Path("p3"))]
    sched.forget(2)  # recording 2 closed: 4 becomes 3; results of 1 stay, of 3 become 2
    assert sched._dirty == {3}
    assert [(r.index, r.path, r.error) for r in sched.last_results] == [(1, None, "e1"), (2, Path("p3"), "")]


def test_the_content_key_is_the_128_bit_blake2b_of_shape_type_series_and_pixels():
    """Saved states are found again by this key, across versions: blake2b with a 16-byte digest over
    "shape|dtype|series|" and the pixel bytes (32 hex characters), computed here from that rule."""
    rec = _recording()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(b"(3, 8, 8)|" + rec.frames.dtype.str.encode() + b"|A4C|")
    digest.update(rec.frames.tobytes())
    assert autosave.content_key(rec) == digest.hexdigest() and len(digest.hexdigest()) == 32


def test_the_default_debounce_is_one_and_a_half_seconds():
    """Edits are written 1.5 s after the last one (DEBOUNCE_S), not later."""
    now = [10.0]
    sched = autosave.AutosaveScheduler(clock=lambda: now[0])
    sched.mark(0)
    now[0] = 11.49
    assert not sched.due()
    now[0] = 11.5
    assert sched.due()


def test_edits_that_never_pause_are_saved_within_the_longest_wait():
    """Each change restarts the pause of delay_s, but what is pending waits at most MAX_UNSAVED_S from the first
    change not saved (a mark every second would otherwise keep everything unsaved until a crash took it)."""
    now = [0.0]
    sched = autosave.AutosaveScheduler(delay_s=1.5, clock=lambda: now[0])
    sched.mark(0)
    assert sched.wait_s() == 1.5  # a pause after the first change
    for t in (1.0, 2.0, 3.0, 4.0):
        now[0] = t
        sched.mark(0)
    assert sched.wait_s() == pytest.approx(autosave.MAX_UNSAVED_S - 4.0)  # the longest wait, not another pause
    now[0] = 5.5
    sched.mark(0)
    assert sched.wait_s() == 0.0  # due now
    sched.take_documents(_StudyOf())
    now[0] = 6.0
    sched.mark(0)
    assert sched.wait_s() == 1.5  # saved: the next change starts its own wait


class _StudyOf:
    """A study of no file-backed recordings (take_documents reads nothing from it)."""

    def __getitem__(self, index):
        import types

        return types.SimpleNamespace(recording=types.SimpleNamespace(source_path=None))
