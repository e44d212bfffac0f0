"""The viewer's autosave timer: a pause in the edits, but never past the longest wait (app.workflow.autosave)."""

from __future__ import annotations

from app.workflow import autosave


def test_a_stream_of_edits_does_not_push_the_autosave_back_forever(qtbot):
    from app.ui.study_controller import StudyController

    now = [0.0]
    controller = StudyController()
    controller.scheduler = autosave.AutosaveScheduler(delay_s=1.5, clock=lambda: now[0])
    controller.study.events.modified.emit(0)
    assert controller.save_timer.isActive() and controller.save_timer.interval() == 1500
    for t in (1.0, 2.0, 3.0, 4.0, 4.8):  # an edit every second or so, never a pause of 1.5 s
        now[0] = t
        controller.study.events.modified.emit(0)
    assert controller.save_timer.interval() == 200  # due 5 s after the first unsaved edit, not 1.5 s after the last
    controller.save_timer.stop()
