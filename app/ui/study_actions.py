"""Study-level actions of the main window: Analyze all recordings (one after another in the analysis worker,
with progress and Cancel; those the analysis cannot take, such as a colour Doppler clip, left out with why), the
patient's height/weight/sex, Help > About, close a recording, close the study, and join the study's one-phase
recordings (one file per phase, as CAMUS and ACDC store ED and ES) into one recording of those phases per view,
whose analysis gives EDV/ESV/EF (app.workflow.phase_files).

Closing saves first (autosave keeps every edit in the user data folder, so reopening restores them) and asks
when something could not be saved; the undo history ends with the closed recording (indices move).
"""

from __future__ import annotations

from app.ui import dialogs
from app.ui.study_dialogs import AboutDialog, ask_patient_details
from app.workflow.analyze import refusal
from app.workflow.phase_files import join_phases, joinable_groups
from app.workflow.study_edits import PatientDetailsEdit

JOIN_HINT = "Analysis ▸ Join one-phase recordings gives their EDV/ESV/EF"


class StudyActions:
    def __init__(self, window) -> None:
        self.window = window
        self.queue: list[int] = []  # recordings still to analyze in "Analyze all"
        self.left_out: list[str] = []  # recordings "Analyze all" cannot analyze (a colour Doppler clip), with why
        self.total = 0
        window.controller.analysis_done.connect(self._analysis_done)

    # -- analyze all ------------------------------------------------------------------------
    def analyze_all(self) -> None:
        """Analyze every recording not analyzed yet (all of them when each is), one at a time."""
        w = self.window
        if self.queue or w.controller.workers or not len(w.study):
            return
        todo = [i for i in range(len(w.study)) if not w.study[i].analyzed] or list(range(len(w.study)))
        refused = {i: why for i in todo if (why := refusal(w.study[i].recording))}
        self.left_out = [f"{w.study[i].name}: {why}" for i, why in refused.items()]
        todo = [i for i in todo if i not in refused]
        if not todo:
            w.statusBar().showMessage(f"Nothing to analyze: {'; '.join(self.left_out)}", 15000)
            return
        self.queue, self.total = todo, len(todo)
        self._next()

    @property
    def running(self) -> bool:
        return bool(self.queue)

    def _next(self) -> None:
        w = self.window
        index = self.queue[0]
        done = self.total - len(self.queue)
        w.statusBar().showMessage(f"Analyzing recording {done + 1} of {self.total}: {w.study[index].name}")
        if w.index < 0:
            w.show_recording(index)
        # else the recording the user watches stays on screen (playing, if it plays); the others are analyzed
        # in the background and the list shows their progress
        w.controller.analyze(index, keep_edits=True)  # hand corrections stay (Analyze all never asks)
        w.status.analysis_started()

    def _analysis_done(self, index: int, ok: bool) -> None:
        if not self.queue or index != self.queue[0]:
            return
        self.queue.pop(0)
        if not ok:  # cancelled or failed: stop the whole run
            skipped, self.queue = len(self.queue), []
            if skipped:
                self.window.statusBar().showMessage(f"Analyze all stopped: {skipped} recording(s) not analyzed", 8000)
            return
        if self.queue:
            self._next()
        else:
            left_out = f"; left out {'; '.join(self.left_out)}" if self.left_out else ""
            self.window.statusBar().showMessage(f"Analyzed {self.total} recording(s){left_out}", 15000)

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
    def _joinable(self) -> tuple[list[list[int]], list[str]]:
        study = self.window.study
        return joinable_groups([study[i].recording for i in range(len(study))])

    def hint_join(self) -> None:
        """After a recording was placed: say so when the study now holds phases to join."""
        groups, _ = self._joinable()
        if groups:
            n = sum(len(g) for g in groups)
            self.window.statusBar().showMessage(f"{n} one-phase recordings (one file per phase): {JOIN_HINT}", 15000)

    def join_phases(self) -> bool:
        """Each view's one-phase recordings (still echo frames, single-phase short-axis stacks) become one
        recording of their phases, in the study's order (app.workflow.phase_files.join_phases), ready to analyze;
        the one-phase recordings are closed (saved first: their analyses and edits stay autosaved). False when
        nothing was joined."""
        w = self.window
        groups, problems = self._joinable()
        if not groups and not problems:
            w.statusBar().showMessage("Join one-phase recordings: open two or more still frames or single-phase "
                                      "stacks of one view (e.g. the ED and ES files) first", 8000)
            return False
        if not groups:
            w.statusBar().showMessage(f"The one-phase recordings are not phases of one series ({problems[0]})", 10000)
            return False
        if not self._idle() or not self.saved_or_confirmed():
            return False
        joined = [join_phases([w.study[i].recording for i in g]) for g in groups]
        for index in sorted((i for g in groups for i in g), reverse=True):
            self._remove(index)
        indices = [w.controller.add_recording(rec) for rec in joined]
        w.show_recording(indices[0])
        sizes = " and ".join(f"{len(g)}" for g in groups)
        w.statusBar().showMessage(f"Joined {sizes} one-phase recordings into {len(groups)} recording(s) of their "
                                  "phases: Analyze (Ctrl+R) for EDV/ESV/EF", 10000)
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
        return self.corrections_settled()

    def corrections_settled(self) -> bool:
        """False, with a word in the status bar, while a correction is still being carried to its neighbouring
        frames (they are not in the study yet: closing now would save the corrected frame alone)."""
        if self.window.edits.propagation.busy():
            self.window.statusBar().showMessage("Wait a moment: the correction is being carried to the neighbouring "
                                                "frames", 6000)
            return False
        return True

    def close_recording(self, index: int | None = None) -> bool:
        """Close one recording (default: the one shown). False when nothing was closed."""
        w = self.window
        index = w.index if index is None else index
        if index is None or not self._idle() or not self.saved_or_confirmed():
            return False
        name, undoable = w.study[index].name, w.controller.undo_stack.count() > 0
        self._remove(index)
        if undoable and len(w.study):  # the others' edits stay, saved; only their undo steps go
            w.notice(f"Closed {name}; the undo history of the study was cleared (the other recordings' edits are "
                     "kept)")
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

    def release(self) -> None:
        """The window was closed, its work saved: let go of its recordings, so that their memory is free for the
        recordings opened in the other study windows (app.workflow.open_budget), as a closed recording's is."""
        w = self.window
        w.controller.undo_stack.clear()  # its commands hold the recordings' states
        for index in reversed(range(len(w.study))):
            w.study.remove_recording(index)
            w.controller.scheduler.forget(index)
            w.edits.retrack.forget(index)
        w.recordings.list.blockSignals(True)
        w.recordings.list.clear()
        w.recordings.list.blockSignals(False)
        w.index = None
        self._show_empty()

    def _remove(self, index: int) -> None:
        w = self.window
        w.controller.undo_stack.clear()  # commands hold recording indices, which move now
        w.study.remove_recording(index)
        w.controller.scheduler.forget(index)
        w.edits.retrack.forget(index)  # its runs stop; the later recordings' move down with them
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
