"""Study-level actions of the main window: Analyse all recordings (one after another in the analysis worker,
with progress and Cancel), the patient's height/weight/sex, Help > About, close a recording, close the study,
and join the study's single-phase short-axis stacks (one file per phase, as ACDC stores ED and ES) into one
stack of those phases, whose analysis gives EDV/ESV/EF.

Closing saves first (autosave keeps every edit in the user data folder, so reopening restores them) and asks
when something could not be saved; the undo history ends with the closed recording (indices move).
"""

from __future__ import annotations

from app.ui import dialogs
from app.ui.study_dialogs import AboutDialog, ask_patient_details
from app.workflow.stack_phases import is_single_phase, join_phases, phase_join_problem
from app.workflow.study_edits import PatientDetailsEdit

JOIN_HINT = "Analysis ▸ Join single-phase stacks gives their EDV/ESV/EF"


class StudyActions:
    def __init__(self, window) -> None:
        self.window = window
        self.queue: list[int] = []  # recordings still to analyse in "Analyse all"
        self.total = 0
        window.controller.analysis_done.connect(self._analysis_done)

    # -- analyse all ------------------------------------------------------------------------
    def analyse_all(self) -> None:
        """Analyse every recording not analysed yet (all of them when each is), one at a time."""
        w = self.window
        if self.queue or w.controller.workers or not len(w.study):
            return
        todo = [i for i in range(len(w.study)) if not w.study[i].analysed] or list(range(len(w.study)))
        self.queue, self.total = todo, len(todo)
        self._next()

    @property
    def running(self) -> bool:
        return bool(self.queue)

    def _next(self) -> None:
        w = self.window
        index = self.queue[0]
        done = self.total - len(self.queue)
        w.statusBar().showMessage(f"Analysing recording {done + 1} of {self.total}: {w.study[index].name}")
        w.show_recording(index)
        w.controller.analyse(index, keep_edits=True)  # hand corrections stay (Analyse all never asks)
        w.status.analysis_started()

    def _analysis_done(self, index: int, ok: bool) -> None:
        if not self.queue or index != self.queue[0]:
            return
        self.queue.pop(0)
        if not ok:  # cancelled or failed: stop the whole run
            skipped, self.queue = len(self.queue), []
            if skipped:
                self.window.statusBar().showMessage(f"Analyse all stopped: {skipped} recording(s) not analysed", 8000)
            return
        if self.queue:
            self._next()
        else:
            self.window.statusBar().showMessage(f"Analysed {self.total} recording(s)", 8000)

    # -- patient ----------------------------------------------------------------------------
    def edit_patient(self) -> None:
        w = self.window
        if not len(w.study):
            return
        p = (w.state or w.study[0]).recording.patient
        values = ask_patient_details(w, p.height_cm, p.weight_kg, p.sex)
        if values is not None:
            w.controller.push(PatientDetailsEdit(*values))

    def about(self) -> None:
        AboutDialog(self.window).exec()

    # -- phases stored one file each ------------------------------------------------------------
    def single_phase_indices(self) -> list[int]:
        w = self.window
        return [i for i in range(len(w.study)) if is_single_phase(w.study[i].recording)]

    def hint_join(self) -> None:
        """After a recording was placed: say so when the study now holds phases to join."""
        indices = self.single_phase_indices()
        if len(indices) >= 2 and not phase_join_problem([self.window.study[i].recording for i in indices]):
            self.window.statusBar().showMessage(f"{len(indices)} single-phase short-axis stacks: {JOIN_HINT}", 15000)

    def join_phases(self) -> bool:
        """The study's single-phase short-axis stacks become one stack of their phases (in the study's order;
        app.workflow.stack_phases.join_phases), shown and ready to analyse; the single-phase recordings are
        closed (saved first: their analyses and edits stay autosaved). False when nothing was joined."""
        w = self.window
        indices = self.single_phase_indices()
        if len(indices) < 2:
            w.statusBar().showMessage("Join single-phase stacks: open two or more single-phase short-axis stacks "
                                      "(e.g. the ED and ES files) first", 8000)
            return False
        recordings = [w.study[i].recording for i in indices]
        problem = phase_join_problem(recordings)
        if problem:
            w.statusBar().showMessage(f"The single-phase stacks are not phases of one series ({problem})", 10000)
            return False
        if not self._idle() or not self.saved_or_confirmed():
            return False
        joined = join_phases(recordings)
        for index in reversed(indices):
            self._remove(index)
        index = w.controller.add_recording(joined)
        w.show_recording(index)
        w.statusBar().showMessage(f"Joined {len(indices)} single-phase stacks into one stack of {len(indices)} "
                                  "phases: Analyse (Ctrl+R) for EDV/ESV/EF", 10000)
        return True

    # -- closing ----------------------------------------------------------------------------
    def saved_or_confirmed(self) -> bool:
        """Save every pending edit; True when all is saved or the user accepts losing what is not."""
        c = self.window.controller
        while True:
            c.save_now()
            problems = c.unsaved_errors()
            if not problems:
                return True
            answer = dialogs.ask_unsaved(self.window, "\n".join(problems))
            if answer == "discard":
                return True
            if answer == "cancel":
                return False

    def _idle(self) -> bool:
        if self.window.controller.workers or self.queue:
            self.window.statusBar().showMessage("Cancel or wait for the running analysis before closing", 6000)
            return False
        return True

    def close_recording(self, index: int | None = None) -> bool:
        """Close one recording (default: the one shown). False when nothing was closed."""
        w = self.window
        index = w.index if index is None else index
        if index is None or not self._idle() or not self.saved_or_confirmed():
            return False
        self._remove(index)
        return True

    def close_study(self) -> bool:
        """Close every recording of this window's study (the window stays, empty)."""
        w = self.window
        if not len(w.study) or not self._idle() or not self.saved_or_confirmed():
            return False
        for index in reversed(range(len(w.study))):
            self._remove(index)
        w.study.set_conclusion("", "")  # the next study starts without this one's conclusion
        return True

    def _remove(self, index: int) -> None:
        w = self.window
        w.controller.undo_stack.clear()  # commands hold recording indices, which move now
        w.study.remove_recording(index)
        w.controller.scheduler.forget(index)
        w.recordings.list.blockSignals(True)
        w.recordings.list.takeItem(index)
        w.recordings.list.blockSignals(False)
        w.index = None
        if len(w.study):
            w.show_recording(min(index, len(w.study) - 1))
        else:
            self._show_empty()

    def _show_empty(self) -> None:
        w = self.window
        w.cine.set_recording(None)
        w.overlays.clear()
        w.editor.show(None)
        w.curves.show_measurements(0, None, (), (), ())
        w.curves.show_strain(None)
        w.measurements.set_scope("")
        w.measurements.show_measurements(None)
        w.stack.set_visible(False)
        w.recordings.set_slices(1)
        w.header.setText("Open a recording: File ▸ Open, or drop a file here")
        w.setWindowTitle("CardioTrace")
        w.reports.update()
