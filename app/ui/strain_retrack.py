"""GLS re-tracked after every contour (or ED/ES) edit, in a worker: the UI never waits for it.

A change to a recording's contours or ED/ES starts a short single-shot timer (edits in a row give one
run); then the strain pipeline runs on the edited label maps (app/workflow/retrack.py) in a
GeneratorWorker. A newer edit cancels a run still going; a result for a state that changed meanwhile
is dropped. The result goes into the study (StudyState.set_strain): the curves, the table and the
autosave take it from there. Each result is kept with the contours and ED/ES it was tracked on, so an undo
(or a redo) back to a state seen before takes its strain at once, overlay included, without a run.
`note(index)` says what the GLS shown is.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QObject, QTimer, Signal

from app.ui.workers import GeneratorWorker
from app.workflow.retrack import can_retrack, retrack_input, retrack_strain
from app.workflow.strain_step import strain_applies

DELAY_MS = 600
MAX_KEPT = 32  # strain results kept per recording for undo / redo


class StrainRetracker(QObject):
    """retracked(index, ok) when a run ends (ok False: failed or cancelled)."""

    retracked = Signal(int, bool)

    def __init__(self, controller, delay_ms: int = DELAY_MS, parent=None) -> None:
        super().__init__(parent or controller)
        self.controller = controller
        self.study = controller.study
        self.workers: dict[int, GeneratorWorker] = {}  # the run of each recording, until it reports
        self._threads: set[GeneratorWorker] = set()  # every thread not finished yet (joined on close)
        self._generation: dict[int, int] = {}  # each recording's latest run (ids never reused, across closes)
        self._ids = itertools.count(1)
        self._due: set[int] = set()
        self._done: set[int] = set()  # recordings whose strain was re-tracked on their edits
        # per recording: (the analysis they belong to, RetrackInput.signature -> strain); the analysis is
        # compared by identity, so a closed recording's results never serve the one that takes its index
        self._seen: dict[int, tuple[object, dict[bytes, object]]] = {}
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self._start_due)
        ev = self.study.events
        ev.contours_changed.connect(lambda index, keys: self.schedule(index))
        ev.edes_changed.connect(self.schedule)
        ev.analysis_changed.connect(self._analysis_changed)
        ev.view_changed.connect(self._view_changed)
        controller.restored.connect(self._restored)

    def schedule(self, index: int) -> None:
        if self.controller._restoring or not self.controller.with_strain:
            return
        st = self.study[index]
        if not can_retrack(st):
            return
        self._cancel_run(index)
        self._due.add(index)  # what to track is read when the timer fires: the edit's remeasured beats by then
        self.timer.start()

    def _view_changed(self, index: int) -> None:
        """The view names the strain's segments: an apical view set by hand tracks (or takes back) the strain in
        its names; a view that has no strain (PLAX, unknown) drops the strain of the view before."""
        if self.controller._restoring:
            return
        st = self.study[index]
        if strain_applies(st.recording):
            self.schedule(index)
            return
        self._cancel_run(index)
        self._due.discard(index)
        if st.strain is not None:
            self.study.set_strain(index, None)

    def _restored(self, index: int) -> None:
        """A reopened study whose strain predates its edits (the app closed while it was being re-tracked):
        track it on them now, as the edit would have."""
        st = self.study[index]
        if st.strain is not None and (st.edited_keys or st.edes_edited) and not st.strain_retracked:
            self.schedule(index)

    def _cancel_run(self, index: int) -> None:
        """A result of the run in flight (if any) is for a state that changed: drop it, and stop the run."""
        self._generation[index] = next(self._ids)
        worker = self.workers.get(index)
        if worker is not None:
            worker.cancel()

    def _analysis_changed(self, index: int) -> None:
        """A new (or undone) analysis brings its own strain, tracked without the edits it kept: re-track."""
        self._generation[index] = next(self._ids)
        self._due.discard(index)
        self._done.discard(index)
        self._seen.pop(index, None)  # other labels: nothing tracked before applies
        st = self.study[index]
        analysed_as = getattr(getattr(st.analysis, "recording", None), "view", st.recording.view)
        if st.edited_keys or st.edes_edited or (analysed_as != st.recording.view and strain_applies(st.recording)):
            self.schedule(index)  # (edits it kept, or a view set while it ran: its strain is not this view's)
        elif analysed_as != st.recording.view and st.strain is not None:  # set to a view without strain meanwhile
            self.study.set_strain(index, None)
        elif st.strain is not None and can_retrack(st):  # the analysis' own strain, on its own contours
            self._seen[index] = (st.analysis, {retrack_input(st).signature(): st.strain})

    def _kept(self, index: int) -> dict[bytes, object]:
        """The strain results kept for recording `index`'s current analysis (created empty)."""
        analysis = self.study[index].analysis
        entry = self._seen.get(index)
        if entry is None or entry[0] is not analysis:
            entry = self._seen[index] = (analysis, {})
        return entry[1]

    def _start_due(self) -> None:
        for index in sorted(self._due):
            if index in self.workers:  # still stopping: try again shortly
                self.timer.start()
                continue
            self._due.discard(index)
            self._start(index)

    def _start(self, index: int) -> None:
        st = self.study[index]
        if not can_retrack(st):
            return
        job = retrack_input(st)
        edited = bool(job.edited_frames) or st.edes_edited
        known = self._kept(index).get(job.signature())
        if known is not None:  # an undo or redo back to contours already tracked: their strain, at once
            (self._done.add if edited else self._done.discard)(index)
            self.study.set_strain(index, known)
            self.retracked.emit(index, True)
            return
        generation = self._generation.get(index, 0)
        worker = GeneratorWorker(lambda cancel: retrack_strain(job, cancel),
                                 label=f"strain of {self.study[index].name}", parent=self)
        kept = (st.analysis, job.signature())  # the labels and contours it is tracked on
        worker.succeeded.connect(lambda result: self._succeeded(index, generation, result, edited, kept, worker))
        worker.failed.connect(lambda text: self._ended(index, False, f"Strain not re-tracked: {text}", worker))
        worker.cancelled.connect(lambda: self._ended(index, False, "", worker))
        worker.finished.connect(lambda: self._threads.discard(worker))
        worker.finished.connect(worker.deleteLater)
        self._threads.add(worker)
        self.workers[index] = worker
        how = "on the edited contours" if edited else f"as {st.recording.view.upper()}"
        self.controller.message.emit(f"Re-tracking the strain of {self.study[index].name} {how}…")
        worker.start()

    def _succeeded(self, index: int, generation: int, result, edited: bool, kept=None, worker=None) -> None:
        self._release(index, worker)  # its thread is ending: not busy any more
        if kept is not None and index < len(self.study) and kept[0] is self.study[index].analysis:  # same analysis
            seen = self._kept(index)
            seen[kept[1]] = result
            while len(seen) > MAX_KEPT:  # the oldest go: an undo that far back re-tracks
                seen.pop(next(iter(seen)))
        if self._generation.get(index, 0) != generation:
            self.retracked.emit(index, False)
            return  # the contours changed while it ran: a newer run follows
        (self._done.add if edited else self._done.discard)(index)
        self.study.set_strain(index, result)
        view = self.study[index].recording.view.upper()
        gls = getattr(self.study[index].strain, "gls_pct", None)  # as judged: None when it is not to be reported
        self._ended(index, True, f"Strain re-tracked: GLS {view} "
                    + ("not reported (see the notes)" if gls is None else f"{gls:.1f} %"), worker)

    def _release(self, index: int, worker) -> None:
        """The run of `index` is over (a run of a closed recording's index is not the one there now)."""
        if worker is None or self.workers.get(index) is worker:
            self.workers.pop(index, None)

    def _ended(self, index: int, ok: bool, text: str, worker=None) -> None:
        self._release(index, worker)
        if text:
            self.controller.message.emit(text)
        self.retracked.emit(index, ok)

    def forget(self, index: int) -> None:
        """Recording `index` was closed and the later ones moved down one index: its runs stop, nothing due for it
        starts on the recording that takes its place, and the others' runs start again at their new indices."""
        self.timer.stop()
        again = {i - (i > index) for i in {*self._due, *self.workers} if i != index}
        for i in list(self.workers):
            self._cancel_run(i)  # reports to no one: its generation is gone
        self.workers = {}
        self._generation = {}
        self._due = set()
        self._done = {i - (i > index) for i in self._done if i != index}
        self._seen = {i - (i > index): v for i, v in self._seen.items() if i != index}
        for i in sorted(again):
            self.schedule(i)

    def busy(self, index: int) -> bool:
        return index in self._due or index in self.workers

    def note(self, index: int) -> str:
        """What the GLS on screen is, for the measurements notes ('' when there is nothing to say)."""
        st = self.study[index]
        if st.strain is None or not st.edited_keys and not st.edes_edited and index not in self._done:
            return ""
        if self.busy(index):
            return "GLS: re-tracking on the edited contours…"
        return "GLS re-tracked on the edited contours" if index in self._done or st.strain_retracked else ""

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Cancel and join the runs (window close)."""
        self.timer.stop()
        self._due.clear()
        for worker in list(self._threads):
            worker.cancel()
        return all(w.wait(timeout_ms) for w in list(self._threads))
