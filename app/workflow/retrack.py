"""Strain re-tracked on the contours as edited, and the GLS of the study's views (what the viewer shows).

`retrack_input(state)` takes what the tracking needs from a RecordingState on the GUI thread (cheap:
the analysis' label maps, the contours of every hand-edited or propagated frame, the ED/ES frames as
set now); `retrack_strain(job, cancel)`, in a worker thread, redraws those frames' labels from their
contours and runs the strain pipeline (a generator of Progress and finally the StrainResult). Without
edits the labels are the analysis' own, so the result is the analysis' strain.
(The study's GLS per view and their mean: app.workflow.study_result.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from app.data.recording import Recording
from app.tasks import Cancel, Progress

if TYPE_CHECKING:  # for annotations only
    from app.analysis.strain import StrainResult
    from app.workflow.recording_state import RecordingState
    from app.workflow.splines import ControlContour


@dataclass(frozen=True, eq=False)
class RetrackInput:
    """What the tracking needs, taken from the study on the GUI thread (the labels are drawn later)."""

    recording: Recording
    analysis_labels: np.ndarray  # (T, H, W), not modified
    # {frame: {kind: ControlContour}} of the frames edited by hand or by propagation
    edited: dict[int, dict[str, ControlContour]]
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]

    @property
    def edited_frames(self) -> tuple[int, ...]:
        return tuple(sorted(self.edited))

    def signature(self) -> bytes:
        """What the tracking depends on beyond the analysis' labels: the view (it names the segments), the edited
        frames' contours and the ED/ES (equal signatures on one analysis give the same strain: an undo takes back
        the strain it had)."""
        import hashlib

        digest = hashlib.sha1(repr((self.recording.view, self.ed_frames, self.es_frames)).encode())
        for frame in sorted(self.edited):
            for kind, contour in sorted(self.edited[frame].items()):
                digest.update(f"{frame}:{kind}:".encode())
                digest.update(np.ascontiguousarray(contour.points_px, dtype=np.float64).tobytes())
        return digest.digest()

    def labels(self) -> np.ndarray:
        """The analysis' label maps with the edited frames redrawn from their contours (in the worker)."""
        from app.analysis.contours import contours_to_labels
        from app.workflow.contour_adapter import lv_from_controls

        if not self.edited:
            return self.analysis_labels
        labels = self.analysis_labels.copy()
        for f, controls in self.edited.items():
            labels[f] = contours_to_labels(lv_from_controls(controls), self.recording.image_shape)
        return labels


def can_retrack(state: RecordingState) -> bool:
    """An analyzed apical echo clip (strain applies) with label maps and an ED frame."""
    from app.workflow.strain_step import strain_applies

    labels = getattr(state.analysis, "labels", None)
    return (state.analyzed and strain_applies(state.recording) and bool(state.ed_frames) and labels is not None
            and np.ndim(labels) == 3)


def retrack_input(state: RecordingState) -> RetrackInput:
    """The edited frames' contours (copied: the study goes on changing) and the current ED/ES of the trusted
    beats (app.analysis.beat_events.strain_events, as the analysis's strain)."""
    from app.analysis.beat_events import strain_events

    rec = state.recording
    edited = {f: dict(state.contours.get((0, f), {}))
              for s, f in state.edited_keys if s == 0 and 0 <= f < rec.n_frames}
    beats = getattr(getattr(state, "measurements", None), "beats", ())
    ed_frames, es_frames = strain_events(beats, state.ed_frames, state.es_frames)
    assert state.analysis is not None  # can_retrack
    return RetrackInput(rec, np.asarray(state.analysis.labels), edited, ed_frames, es_frames)


def retrack_strain(job: RetrackInput, cancel: Cancel = None, motion: str = "classical"
                   ) -> Iterator[Progress | StrainResult]:
    """Progress items, then the StrainResult on the edited labels (nothing when cancelled)."""
    from app.workflow.strain_pipeline import compute_strain

    yield from compute_strain(job.recording, job.labels(), job.ed_frames, es_frames=job.es_frames, motion=motion,
                              cancel=cancel)
