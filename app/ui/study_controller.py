"""Glue between the Qt-free StudyState and the window: recordings added, analysis workers, undo, autosave.

Edits arrive as app.workflow.edits commands and go onto a QUndoStack (one UndoableEdit each). Every
change marks the recording dirty; a single-shot timer restarted on each change saves ~1.5 s after the
last edit to the user data folder: the documents are made here and written by the autosave thread
(app/workflow/autosave_thread.py), so the GUI never waits for the disk. The explicit saves (`save_now`: closing,
reports, sending, Save now) wait for that thread, then write what is left here (AutosaveScheduler.flush).
Opening a recording restores its saved state when one exists.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.analysis.partial import TracedFrame
from app.data.recording import Recording
from app.ui.workers import GeneratorWorker, error_text
from app.workflow import autosave
from app.workflow.autosave_thread import BackgroundSaver
from app.workflow.edits import AnalysisEdit, EditCommand
from app.workflow.recording_state import AnalysisSnapshot, edits_since
from app.workflow.reopen import Reopened, reopen
from app.workflow.results import RecordingAnalysis
from app.workflow.study import StudyState

if TYPE_CHECKING:  # heavy imports stay lazy
    from app.workflow.segment_step import Segmenter


class UndoableEdit(QUndoCommand):
    """An edit already applied to the study (StudyController.push), so the stack's first redo is skipped:
    an edit that fails never reaches the stack, where an undo would revert what was never done. An undo or redo
    that fails leaves the stack too (obsolete: Qt drops the step and keeps its index), said through `failed`:
    the stack would otherwise count it done, or undone, and a later step revert what the study never had."""

    def __init__(self, study: StudyState, command: EditCommand,
                 stepped: Callable[[int, str], None] | None = None,
                 failed: Callable[[str, str], None] | None = None) -> None:
        super().__init__(command.text)
        self.study = study
        self.command = command
        self._applied = True
        self._stepped = stepped  # told (recording index, "Undid ...") of each undo and redo
        self._failed = failed  # told (title, text) of an undo or redo that could not be done

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        if self._done(self.command.apply, "Redo"):
            self._tell("Redid")

    def undo(self) -> None:
        if self._done(self.command.revert, "Undo"):
            self._tell("Undid")

    def _done(self, step: Callable[[StudyState], None], what: str) -> bool:
        try:
            step(self.study)
        except Exception as exc:  # noqa: BLE001 - a rejection (ValueError) or a bug: said, never a broken stack
            self.setObsolete(True)
            if not isinstance(exc, ValueError):
                traceback.print_exc()
            if self._failed is not None:
                self._failed(f"{what} not done", f"{self.command.text}: {error_text(exc)} (the step is no longer "
                                                  f"in the undo history)")
            return False
        return True

    def _tell(self, done: str) -> None:
        index = getattr(self.command, "index", None)
        if self._stepped is not None and isinstance(index, int):
            self._stepped(index, f"{done} {self.command.text}")


class StudyController(QObject):
    """Signals: error(title, text), message(text), analysis_progress(index, fraction, text),
    analysis_traced(index, set of (slice, frame) newly traced), analysis_measured(index, RecordingAnalysis
    without strain yet), analysis_done(index, ok: bool), saved(list of SaveResult).

    While an analysis runs, the contours it has traced so far are in `traced(index)` ({(slice, frame):
    app.analysis.partial.TracedFrame}); they are dropped when it ends (its result then holds them all)."""

    error = Signal(str, str)
    message = Signal(str)
    analysis_progress = Signal(int, float, str)
    analysis_traced = Signal(int, object)
    analysis_measured = Signal(int, object)
    analysis_done = Signal(int, bool)
    saved = Signal(object)
    restored = Signal(int)  # a recording came back with its saved work (add_recording), told once it is in place
    stepped = Signal(int, str)  # an undo or redo changed recording `index` ("Undid move ES")
    notice = Signal(str)  # a word the user must read (MainWindow.notice): routine messages wait for it
    _written = Signal(str, object, str)  # from the autosave thread: key, path (None when it failed), error

    def __init__(self, study: StudyState | None = None, parent=None, autosave_delay_s: float = autosave.DEBOUNCE_S):
        super().__init__(parent)
        self.study = study or StudyState()
        self.undo_stack = QUndoStack(self)
        self.scheduler = autosave.AutosaveScheduler(delay_s=autosave_delay_s)
        self.save_timer = QTimer(self)
        self.save_timer.setSingleShot(True)
        self.save_timer.setInterval(int(autosave_delay_s * 1000))
        self.save_timer.timeout.connect(self.autosave)
        self.background = BackgroundSaver()
        self._written.connect(self._autosaved)
        self.study.events.modified.connect(self._modified)
        self.workers: dict[int, GeneratorWorker] = {}
        self._traced: dict[int, dict[tuple[int, int], TracedFrame]] = {}
        # tests inject a segmenter factory here
        self.segmenter_for: Callable[[Recording], Segmenter | None] = lambda recording: None
        self.echo_hysteresis = 0.0  # label hysteresis margin for echo analyses (Analysis menu: steady contours)
        self.with_strain = True
        self._restoring = False

    # -- loading (files are read in a worker: app/ui/open_actions.py) -------------------------------
    def add_recording(self, recording: Recording, reopened: Reopened | None = None) -> int:
        """Add a recording with its saved work restored (app.workflow.reopen: done here when the worker that read
        it has not done it already); a saved state that cannot be used is reported, not fatal."""
        if reopened is None:
            reopened = self.reopen(recording)
        self._restoring = True
        try:
            index = self.study.add_restored(reopened.state, reopened.extras)
        finally:
            self._restoring = False
        if reopened.problem is not None:
            self.error.emit(*reopened.problem)
        if reopened.extras is None:
            return index
        if reopened.legacy and reopened.saved_path is not None:
            self._migrate(index, self.study.save_key(index), reopened.saved_path)
        self.restored.emit(index)
        self.message.emit(f"Restored the saved analysis and edits of {self.study[index].name}"
                          + (f" (from {reopened.saved_path}, now kept in {autosave.user_data_dir()})"
                             if reopened.legacy else ""))
        return index

    def reopen(self, recording: Recording) -> Reopened:
        """The recording's state with its saved work (app.workflow.reopen); touches nothing of the study, so the
        worker that reads a file runs it (app/ui/file_open.py)."""
        return reopen(recording, self.study.measure_fn)

    def _migrate(self, index: int, key: str, legacy_path: Path) -> None:
        """Copy a state read from a legacy side-car to the user data folder (the side-car is left alone)."""
        try:
            autosave.save(self.study.document(index), key)
        except OSError as exc:
            self.error.emit("Autosave failed", f"{legacy_path} could not be copied to the data folder: {exc}")

    # -- edits ------------------------------------------------------------------------------
    def push(self, command: EditCommand) -> None:
        """Apply an edit, then put it on the undo stack; a rejected edit (ValueError) is reported and not
        stacked. Any other failure is a bug: it reaches the error dialog, with nothing stacked."""
        try:
            command.apply(self.study)
        except ValueError as exc:
            self.error.emit("Edit not applied", str(exc))
            return
        self.undo_stack.push(UndoableEdit(self.study, command, self.stepped.emit, self.error.emit))

    # -- analysis ---------------------------------------------------------------------------
    def analyze(self, index: int, keep_edits: bool = True) -> GeneratorWorker | None:
        """Analyze a recording in a worker; the result comes in as an undoable AnalysisEdit that keeps the
        hand corrections (keep_edits, also those made while it ran) or replaces those made before it ran."""
        if index in self.workers:
            return self.workers[index]
        recording = self.study[index].recording
        before = None if keep_edits else self.study.snapshot(index)  # the edits the user chose to replace
        segmenter = self.segmenter_for(recording)
        if segmenter is None and self.echo_hysteresis > 0:
            from app.workflow.segment_step import default_segmenter

            segmenter, _ = default_segmenter(recording, hysteresis=self.echo_hysteresis)

        def job(cancel_event):
            from app.workflow.study_analysis import analyze_for_viewer

            return analyze_for_viewer(recording, segmenter=segmenter, cancel=cancel_event, strain=self.with_strain)

        worker = GeneratorWorker(job, label=f"analysis of {self.study[index].name}", parent=self)
        worker.progress.connect(lambda f, msg: self.analysis_progress.emit(index, f, msg))
        worker.partials.connect(lambda items: self._partials(index, items))
        worker.succeeded.connect(lambda result: self._analysis_succeeded(index, result, keep_edits, before))
        worker.failed.connect(lambda text: self._analysis_failed(index, text))
        worker.cancelled.connect(lambda: self._analysis_ended(index, False, "Analysis cancelled"))
        worker.finished.connect(lambda: self._forget(index, worker))
        self.workers[index] = worker
        worker.start()
        return worker

    def cancel_analysis(self, index: int | None = None) -> None:
        for i, worker in list(self.workers.items()):
            if index is None or i == index:
                worker.cancel()

    def traced(self, index: int | None) -> dict:
        """The contours the running analysis of `index` has traced so far (empty when none runs)."""
        return self._traced.get(index, {}) if index is not None else {}

    def _partials(self, index: int, items: tuple) -> None:
        if index not in self.workers:  # a batch queued before the analysis ended
            return
        frames = [p for p in items if isinstance(p, TracedFrame)]
        if frames:
            self._traced.setdefault(index, {}).update((p.key, p) for p in frames)
            self.analysis_traced.emit(index, {p.key for p in frames})
        for measured in (p for p in items if isinstance(p, RecordingAnalysis)):
            self.analysis_measured.emit(index, measured)

    def _analysis_succeeded(self, index: int, result, keep_edits: bool = True,
                            before: AnalysisSnapshot | None = None) -> None:
        during = edits_since(self.study[index], before) if before is not None else None
        command = AnalysisEdit(index, result, keep_edits, made_while_running=during)
        try:
            command.apply(self.study)
        except Exception as exc:  # noqa: BLE001
            self._analysis_failed(index, error_text(exc))
            return
        self.undo_stack.push(UndoableEdit(self.study, command, self.stepped.emit, self.error.emit))
        note = result.analysis.strain_error
        self._analysis_ended(index, True, "Analysis finished" + (f" (no strain: {note})" if note else ""))

    def _analysis_failed(self, index: int, text: str) -> None:
        self.error.emit("Analysis failed", text)
        self._analysis_ended(index, False, "Analysis failed")

    def _analysis_ended(self, index: int, ok: bool, text: str) -> None:
        self._traced.pop(index, None)
        self.message.emit(text)
        self.analysis_done.emit(index, ok)

    def _forget(self, index: int, worker: GeneratorWorker) -> None:
        if self.workers.get(index) is worker:
            del self.workers[index]
        worker.deleteLater()

    def wait_for_workers(self, timeout_ms: int = 10000) -> bool:
        """Cancel and join every worker (window close)."""
        self.cancel_analysis()
        return all(w.wait(timeout_ms) for w in list(self.workers.values()))

    # -- autosave ---------------------------------------------------------------------------
    def _modified(self, index: int) -> None:
        if self._restoring:
            return
        self.scheduler.mark(index)
        self.save_timer.start(int(self.scheduler.wait_s() * 1000))  # a pause in the edits, or the longest wait

    def autosave(self) -> None:
        """The debounced save after edits: each dirty recording's document made here, written by the autosave
        thread."""
        for _, key, document in self.scheduler.take_documents(self.study):
            self.background.submit(key, document, self._written.emit)

    def _autosaved(self, key: str, path: Path | None, error: str) -> None:
        index = self._index_of_key(key)
        if error:
            if self.background.take_failure(key) is None:
                return  # save_now took it and marked the recording unsaved
            if index is not None:
                self.scheduler.mark(index)  # written again at the next change or explicit save
            self.message.emit(f"Autosave failed: {error}")
        elif path is not None and index is not None:
            self.message.emit(f"Autosaved {self.study[index].name} (in {autosave.user_data_dir()})")

    def _index_of_key(self, key: str) -> int | None:
        return next((i for i in range(len(self.study))
                     if self.study[i].recording.source_path is not None and self.study.save_key(i) == key), None)

    def save_now(self) -> list:
        self.save_timer.stop()
        for key in self.background.wait():  # what the autosave thread could not write is unsaved
            index = self._index_of_key(key)
            if index is not None:
                self.scheduler.mark(index)
        if not self.scheduler.pending:
            return []
        results = self.scheduler.flush(self.study)
        failed = [r for r in results if r.error and self.study[r.index].recording.source_path is not None]
        if failed:
            self.message.emit("Autosave failed: " + "; ".join(r.error for r in failed))
        elif any(r.path for r in results):
            names = ", ".join(self.study[r.index].name for r in results if r.path)
            self.message.emit(f"Autosaved {names} (in {autosave.user_data_dir()})")
        self.saved.emit(results)
        return results

    def unsaved_errors(self) -> list[str]:
        """After save_now: what is still unsaved (in-memory recordings count only when edited)."""
        out = []
        for r in self.scheduler.last_results:
            st = self.study[r.index]
            if r.path is None and (st.recording.source_path is not None or st.edited_values()):
                out.append(f"{st.name}: {r.error}")
        return out
