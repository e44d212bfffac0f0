"""An edit that fails is reported and never reaches the undo stack, so an undo afterwards reverts the edit
before it (a failed command left on the stack was 'undone' without ever having been applied)."""

from __future__ import annotations

import pytest

from app.workflow.edits import EdEsEdit, EditCommand
from tests.ui_fixtures import analyzed, dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")


class _Refused(EditCommand):
    text = "refused edit"

    def apply(self, study) -> None:
        raise ValueError("frame 99 is past the clip's last frame (23)")


class _Broken(EditCommand):
    text = "broken edit"

    def apply(self, study) -> None:
        raise RuntimeError("a bug inside the command")


def test_a_refused_edit_is_reported_once_and_the_undo_reverts_the_edit_before_it(analyzed, qtbot):
    window, _ = analyzed
    state = window.controller.study[0]
    before = (state.ed_frames, state.es_frames)
    errors: list[tuple[str, str]] = []
    window.controller.error.connect(lambda title, text: errors.append((title, text)))
    window.controller.push(EdEsEdit(0, (4, 14), (9,)))
    window.controller.push(_Refused())
    assert errors == [("Edit not applied", "frame 99 is past the clip's last frame (23)")]
    assert window.controller.undo_stack.count() == 1
    window.controller.undo_stack.undo()
    assert (state.ed_frames, state.es_frames) == before


def test_a_bug_in_an_edit_reaches_the_error_dialog_with_nothing_stacked(analyzed, qtbot):
    window, _ = analyzed
    moved = EdEsEdit(0, (4, 14), (9,))
    window.controller.push(moved)
    with pytest.raises(RuntimeError, match="a bug inside the command"):
        window.controller.push(_Broken())
    assert window.controller.undo_stack.count() == 1
    assert window.controller.undo_stack.undoText() == moved.text
