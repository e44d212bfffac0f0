"""Carry a contour correction to the neighbouring frames in a worker, as part of the same undo step.

The edited frame's correction is pushed at once (its contour is drawn at once; its remeasurement waits the
few tens of ms for the propagation, so the two are measured together, once, instead of twice); the motion
between the frames is computed in a GeneratorWorker from contours taken on the GUI thread
(app.workflow.edits.neighbour_contours / propagation_changes), and the result is added to that same
command (ContourEdit.add_propagation), so one undo removes the correction and all it reached. When that command
was undone in between, or another contour edit or analysis came after it, the result is dropped and the user told
so; an ED/ES mark, a view, a calibration or the patient's size set meanwhile leave the contours it was computed
from as they were, and it is taken (pressing S right after a correction had lost its reach).
One propagation runs at a time; contour corrections made meanwhile are pushed after it, each on the
contour as it then is, from the event loop (taking a result and pushing the next correction are two
remeasurements: back to back they stalled the GUI for 100-200 ms in a burst of edits).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, Signal

from app.ui.workers import GeneratorWorker
from app.workflow.edits import CalibrationEdit, ContourEdit, EdEsEdit, ViewEdit, neighbour_contours, propagation_changes
from app.workflow.study_edits import PatientDetailsEdit

# Steps that leave every contour as it was (the motion a propagation computed from them still holds)
CONTOUR_NEUTRAL = (EdEsEdit, ViewEdit, CalibrationEdit, PatientDetailsEdit)


class PropagationRunner(QObject):
    """started(index): a correction of recording `index` is being carried to its neighbouring frames (its values
    remeasured once it has been); finished(command, frames): the frames a propagation changed ([] when dropped or
    failed)."""

    started = Signal(int)
    finished = Signal(object, object)

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent or controller)
        self.controller = controller
        self.worker: GeneratorWorker | None = None
        self._threads: set[GeneratorWorker] = set()
        self._queue: list[ContourEdit] = []  # corrections waiting for the running propagation
        self._running_index = -1  # the recording of the running propagation's correction

    def push(self, command: ContourEdit) -> None:
        """Push `command` now, or after the propagation still running (its span is propagated here)."""
        self._queue.append(command)
        self._next()

    def busy(self) -> bool:
        return self.worker is not None or bool(self._queue)

    def spreading(self, index: int) -> bool:
        """A correction of recording `index` is being carried to its neighbouring frames, or waits to be."""
        return (self.worker is not None and self._running_index == index) or any(c.index == index for c in self._queue)

    def _next(self) -> None:
        while self.worker is None and self._queue:
            self._start(self._queue.pop(0))

    def _start(self, command: ContourEdit) -> None:
        study = self.controller.study
        span, command.span = command.span, None
        if command.index < len(study):
            command.old = study[command.index].contour(command.key, command.kind)  # as it is now
        propagating = not (span is None or span.empty or command.new is None or command.old is None)
        command.measure_later = propagating  # measured once, with the frames the propagation reaches
        self.controller.push(command)
        command.measure_later = False
        if not propagating:
            return
        assert span is not None  # propagating
        st = study[command.index]
        if st.contour(command.key, command.kind) is not command.new:
            return  # not applied (rejected)
        neighbours = neighbour_contours(st, command.key, command.kind, span)
        old, new = command.old, command.new
        assert old is not None and new is not None  # propagating
        job = (st.recording, command.key, command.kind, old, new, span, neighbours)
        pos = self.controller.undo_stack.index()  # just past the correction's step

        def run(cancel):
            yield propagation_changes(*job)

        worker = GeneratorWorker(run, label="propagation of the correction", parent=self)
        worker.succeeded.connect(lambda changes: self._done(command, pos, changes))
        worker.failed.connect(lambda text: self._failed(command, text))
        worker.cancelled.connect(lambda: self._ended(command, [], remeasure=True))
        worker.finished.connect(lambda: self._threads.discard(worker))
        worker.finished.connect(worker.deleteLater)
        self._threads.add(worker)
        self.worker, self._running_index = worker, command.index
        worker.start()
        self.started.emit(command.index)

    def _still_applies(self, command: ContourEdit, pos: int) -> bool:
        """The correction's step is still done and the steps since leave the contours as they were."""
        stack = self.controller.undo_stack
        if pos < 1 or stack.index() < pos or getattr(stack.command(pos - 1), "command", None) is not command:
            return False
        later = (getattr(stack.command(i), "command", None) for i in range(pos, stack.index()))
        return all(isinstance(c, CONTOUR_NEUTRAL) for c in later)

    def _done(self, command: ContourEdit, pos: int, changes: dict) -> None:
        if not self._still_applies(command, pos):
            self.controller.notice.emit("The correction was not carried to the neighbouring frames: "
                                        "the study changed meanwhile")
            self._ended(command, [], remeasure=True)
            return
        command.add_propagation(self.controller.study, changes)  # remeasures the correction and its reach
        self._ended(command, command.propagated_frames)

    def _failed(self, command: ContourEdit, text: str) -> None:
        self.controller.error.emit("Correction not propagated", text)
        self._ended(command, [], remeasure=True)

    def _ended(self, command: ContourEdit, frames: list[int], remeasure: bool = False) -> None:
        """remeasure: the correction's own remeasurement, left for the propagation, is still due."""
        study = self.controller.study
        if remeasure and command.index < len(study):
            study.remeasure(command.index)
        self.worker = None
        self.finished.emit(command, frames)
        if self._queue:  # the next correction after a return to the event loop: this result is painted first
            QTimer.singleShot(0, self, self._next)

    def settle(self, timeout_ms: int = 10000) -> bool:
        """Let the running propagation and those queued finish and be applied (window close: cancelling would save
        the corrected frame alone); True when none is left. Processes events while it waits."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while self.busy() and time.monotonic() < deadline:
            if self.worker is not None:
                self.worker.wait(20)
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        return not self.busy()

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Drop what waits, cancel and join the running propagation (window close)."""
        self._queue.clear()
        for worker in list(self._threads):
            worker.cancel()
        return all(w.wait(timeout_ms) for w in list(self._threads))
