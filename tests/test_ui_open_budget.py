"""The viewer's memory budget (app/workflow/open_budget.py): every recording open in the process, in every study
window, counts against the rule `analyze` applies to a study (limits.StudyBudget). One that would pass it is not
opened (before it is read when its header tells its size), the user is told how many are open and what to do in
the one dialog of the batch, the open recordings and their edits are untouched, and closing a recording or a study
window makes room again. Before, the viewer opened every file it was given until the system killed it."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from tests.ui_fixtures import dialogs_seen, make_window, synthetic_echo  # noqa: F401

N_BYTES = 12 * 160 * 128  # one synthetic clip's frames (uint8), as read back from its DICOM file


def _write(folder, name: str, view: str = "a4c", patient_id: str = ""):
    from app.data.writers import write_recording

    rec, _ = synthetic_echo(12, view=view)  # one patient: every file joins the same study
    if patient_id:
        rec = replace(rec, patient=replace(rec.patient, name="Other^Patient", patient_id=patient_id))
    return write_recording(rec, folder / f"{name}.dcm")


@pytest.fixture
def room_for(monkeypatch):
    """room_for(k): the study budget holds k synthetic clips (StudyBudget: their frames and as much again for label
    maps, within STUDY_RAM_FRACTION of the physical memory)."""
    from app.data.readers import limits

    def set_room(k: float) -> None:
        monkeypatch.setattr(limits, "STUDY_RAM_FRACTION", 2 * k * N_BYTES / limits.physical_ram_bytes())

    return set_room


@pytest.fixture
def reads(monkeypatch):
    """The paths load_recording read, from now on."""
    import app.data.readers as readers

    seen: list = []
    original = readers.load_recording
    monkeypatch.setattr(readers, "load_recording", lambda path, *a, **k: (seen.append(path.name),
                                                                          original(path, *a, **k))[1])
    return seen


def _names(window) -> list[str]:
    return [st.recording.source_path.name for st in window.study.recordings]


def test_a_recording_past_the_budget_is_refused_with_what_to_do_and_closing_one_makes_room(
        make_window, tmp_path, dialogs_seen, room_for, reads):
    a, b, c = (_write(tmp_path, name) for name in ("a", "b", "c"))
    room_for(2.5)
    window = make_window()
    window.open_paths([str(a), str(b)])
    assert window.opener.wait_opened()
    assert _names(window) == ["a.dcm", "b.dcm"] and not dialogs_seen
    window.mark_current("es")  # an edit on the recording shown
    shown, es_frames = window.index, window.study[window.index].es_frames

    window.open_paths([str(c)])
    assert window.opener.wait_opened()
    assert _names(window) == ["a.dcm", "b.dcm"] and reads == ["a.dcm", "b.dcm"]  # refused before it was read
    assert window.index == shown and window.study[shown].es_frames == es_frames and window.study[shown].es_edited
    assert [d[:2] for d in dialogs_seen] == [("critical", "Cannot open")]
    text = dialogs_seen[0][2]
    assert text.startswith(f"{c}\n\nnot enough memory to open it: 2 recordings are open, with about 1 MB of images; "
                           "with this one they would need at least 1 MB")
    assert "Close some recordings (File ▸ Close recording) or study windows, then open it again" in text
    assert "python -m app analyze FILE ... --out DIR" in text

    assert window.study_actions.close_recording(0)  # its share of the budget is free again
    window.open_paths([str(c)])
    assert window.opener.wait_opened()
    assert _names(window) == ["b.dcm", "c.dcm"] and len(dialogs_seen) == 1


def test_the_refusals_of_a_batch_are_one_paragraph_beside_the_other_failures(make_window, tmp_path, dialogs_seen,
                                                                             room_for):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    paths = [_write(tmp_path, name) for name in ("a", "b", "c", "d", "e")]
    room_for(2.5)
    window = make_window()
    window.open_paths([str(paths[0]), str(broken), *map(str, paths[1:])])
    assert window.opener.wait_opened()
    assert _names(window) == ["a.dcm", "b.dcm"]
    assert [d[1] for d in dialogs_seen] == ["Cannot open"]
    text = dialogs_seen[0][2]
    assert text.startswith(f"4 recordings could not be opened in {tmp_path}:\n\nbroken.dcm: ")
    assert ("\n\nc.dcm, d.dcm and e.dcm: not enough memory to open them: 2 recordings are open, with about 1 MB of "
            "images; with these 3 they would need at least 1 MB") in text
    assert text.count("not enough memory") == 1 and text.count("python -m app analyze") == 1


def test_every_study_window_counts_and_closing_one_frees_its_share(make_window, tmp_path, dialogs_seen, room_for):
    a, b = _write(tmp_path, "a"), _write(tmp_path, "b")
    other = _write(tmp_path, "other", patient_id="T002")  # another patient: a study window of its own
    room_for(2.5)
    window = make_window()
    window.open_paths([str(a), str(other)])
    assert window.opener.wait_opened()
    [second] = window.study_windows
    assert _names(window) == ["a.dcm"] and _names(second) == ["other.dcm"]

    window.open_paths([str(b)])
    assert window.opener.wait_opened()
    assert _names(window) == ["a.dcm"] and "2 recordings are open (in 2 study windows)" in dialogs_seen[-1][2]

    assert second.close()
    assert len(second.study) == 0  # the closed window holds no recording
    window.open_paths([str(b)])
    assert window.opener.wait_opened()
    assert _names(window) == ["a.dcm", "b.dcm"] and len(dialogs_seen) == 1


def test_a_recording_whose_header_does_not_tell_is_refused_once_read_before_its_saved_work_is_restored(
        make_window, tmp_path, dialogs_seen, room_for, reads, monkeypatch):
    import app.ui.file_open as file_open

    header_threads: list = []
    monkeypatch.setattr(file_open, "header_bytes", lambda *a: header_threads.append(threading.current_thread()))
    paths = [_write(tmp_path, name) for name in ("a", "b", "c")]
    room_for(2.5)
    window = make_window()
    prepared: list = []
    prepare = window.opener.prepare
    window.opener.prepare = lambda rec: (prepared.append(rec.source_path.name), prepare(rec))[1]
    window.open_paths(list(map(str, paths)))
    assert window.opener.wait_opened()
    assert reads == ["a.dcm", "b.dcm", "c.dcm"] and prepared == ["a.dcm", "b.dcm"]
    assert header_threads and threading.main_thread() not in header_threads  # the header is read in the worker
    assert _names(window) == ["a.dcm", "b.dcm"]
    assert "with this one they would need about 1 MB" in dialogs_seen[0][2]  # its size as read


def test_a_refusal_made_before_a_recording_was_closed_reads_it_again(make_window, tmp_path, dialogs_seen, room_for):
    """A read refused against what was open as it started, arriving after the user closed a recording: read again."""
    from app.workflow.open_budget import OpenMemory

    a, b, c = (_write(tmp_path, name) for name in ("a", "b", "c"))
    room_for(2.5)
    window = make_window()
    window.open_paths([str(a), str(b)])
    assert window.opener.wait_opened()
    live = window.opener.room
    window.opener.room = lambda: OpenMemory((10 * N_BYTES,), 1)  # as if much were open when the read starts
    window.open_paths([str(c)])
    window.opener.room = live
    assert window.study_actions.close_recording(0)  # closed while it is read
    assert window.opener.wait_opened()
    assert _names(window) == ["b.dcm", "c.dcm"] and not dialogs_seen


def test_the_budget_is_the_study_rule_of_analyze_and_counts_an_array_once(monkeypatch):
    from app.data.readers import limits
    from app.workflow.open_budget import OpenMemory, open_memory
    from app.workflow.study import StudyState

    study = StudyState(measure_fn=lambda st: None, biplane_fn=None)
    rec, _ = synthetic_echo(12)
    study.add_recording(rec)
    study.set_view(0, "a2c")  # a new Recording, the same frames
    assert open_memory([study, StudyState(measure_fn=lambda st: None, biplane_fn=None)]) == OpenMemory((N_BYTES,), 1)
    assert rec.image_bytes == N_BYTES
    monkeypatch.setattr(limits, "STUDY_RAM_FRACTION", 2 * 2.5 * N_BYTES / limits.physical_ram_bytes())
    room = OpenMemory((N_BYTES, N_BYTES), 1)
    assert OpenMemory((N_BYTES,), 1).refusal(N_BYTES) is None
    refused = room.refusal(N_BYTES)
    assert refused is not None and (refused.n_open, refused.open_bytes, refused.estimated) == (2, 2 * N_BYTES, False)
    budget = limits.StudyBudget()  # the same verdict as `analyze` holding the three
    budget.add(None, N_BYTES)
    budget.add(None, N_BYTES)
    with pytest.raises(limits.LoadError):
        budget.add(None, N_BYTES)


def test_one_recording_too_large_alone_is_told_to_go_to_a_batch():
    from pathlib import Path

    from app.ui.file_open import failures_text
    from app.workflow.open_budget import Refusal

    text = failures_text(((Path("/data/huge.dcm"), Refusal(5 * 1024**3, 0, 0, 0)),))
    assert text == ("/data/huge.dcm\n\nnot enough memory to open it: this one would need about 5.0 GB for its images, "
                    "more than this computer can hold together with its analysis. Instead, analyse the files as a "
                    "batch, without opening them in the viewer: python -m app analyze FILE ... --out DIR")
