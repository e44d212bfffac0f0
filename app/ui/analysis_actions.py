"""Start the analysis of the recording on screen (asking first whether to keep hand corrections), and show what
a running analysis yields before it ends: the contours it traced on the frame shown, its first values."""

from __future__ import annotations

from app.ui import dialogs
from app.workflow.analyze import refusal

REFUSAL_MS = 15000  # a refusal names what the recording lacks: it stays long enough to be read


def corrections_text(state) -> str:
    """What a re-analysis could replace, in words ('' when nothing was corrected by hand)."""
    frames = len({f for _, f in state.edited_keys})
    parts = [f"contours on {frames} frame{'s' if frames != 1 else ''}"] if frames else []
    if state.edes_edited:
        parts.append("ED/ES frames")
    return " and ".join(parts)


class AnalysisActions:
    def __init__(self, window) -> None:
        self.window = window
        c = window.controller
        c.analysis_done.connect(self._done)
        c.analysis_traced.connect(self._traced)
        c.analysis_measured.connect(window.values.measured)
        window.tools.analyze.connect(self.analyze_current)
        window.tools.analyze_all.connect(window.study_actions.analyze_all)

    def analyze_current(self) -> None:
        """Analyze the recording on screen; with hand corrections, ask whether to keep them first."""
        w = self.window
        if w.index is None:
            return
        if why := refusal(w.state.recording):  # said, not run: nothing failed
            w.statusBar().showMessage(f"Not analyzed: {why}", REFUSAL_MS)
            return
        keep = True
        edits = corrections_text(w.state)
        if edits and w.index not in w.controller.workers:  # one already running goes on as it is: nothing to ask
            answer = dialogs.ask_reanalyze(w, edits)
            if answer == "cancel":
                return
            keep = answer == "keep"
        w.controller.analyze(w.index, keep_edits=keep)
        w.status.analysis_started()

    def _done(self, index: int, ok: bool) -> None:
        self.window.reports.update()
        if index == self.window.index:
            self.window.refresh_frame()

    def _traced(self, index: int, keys: set) -> None:
        """Contours the running analysis traced: draw them at once when the frame on screen is among them."""
        w = self.window
        key = (w.slice_index, w.cine.frame)
        if index == w.index and key in keys and w.state.contours.get(key) is None:
            w.overlays.show_traced(w.controller.traced(index)[key])
