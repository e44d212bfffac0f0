"""The site's hand corrections as training data: the frames of saved studies whose contours a person drew or checked.

`collect_corrections(folder, size)` is a task (app.tasks): it reads every `*.cardiotrace.json` under the folder
(the autosave folder by default, app/workflow/autosave.py), reads each one's source recording through the normal
readers, checks that the file still holds the pixels the work was saved on (its content key), and takes, on echo
recordings, the frames whose contours were
- corrected by hand ("hand"),
- moved by propagating a hand correction ("propagated", marked as such in the study), or
- the ED and ES frames of a study that was signed (a reviewer named in its report: "confirmed").
Each frame becomes the network's input (the sector's box area-resized to `size`, as at inference) and the label map
drawn from its contours (LV cavity, myocardium, LA), cropped and resized the same way. Studies without a patient ID
count as their own patient. What is left out is listed with the reason, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.tasks import Cancel, Progress, is_cancelled

if TYPE_CHECKING:
    from app.data.recording import Recording
    from app.workflow.recording_state import RecordingState

SOURCES = ("hand", "propagated", "confirmed")


@dataclass(frozen=True, eq=False)
class CorrectedFrame:
    """One frame a person corrected or confirmed, at the network's size."""

    study: str  # the saved study's file name
    patient: str
    frame: int
    source: str  # one of SOURCES
    image: np.ndarray  # (S, S) float32 0..1
    labels: np.ndarray  # (S, S) uint8: 0 background, 1 LV cavity, 2 myocardium, 3 LA


@dataclass(frozen=True, eq=False)
class CorrectionSet:
    frames: tuple[CorrectedFrame, ...]
    studies: int  # studies that gave at least one frame
    skipped: tuple[tuple[str, str], ...]  # (file name, why)

    @property
    def patients(self) -> tuple[str, ...]:
        return tuple(sorted({f.patient for f in self.frames}))

    def count(self, source: str) -> int:
        return sum(f.source == source for f in self.frames)


class StudySkippedError(Exception):
    """A saved study that gives no training frames, with the reason."""


def study_files(folder: Path) -> list[Path]:
    from app.workflow.autosave import SUFFIX

    return sorted(p for p in Path(folder).rglob(f"*{SUFFIX}") if p.is_file())


def collect_corrections(folder: Path, size: int, cancel: Cancel = None
                        ) -> Iterator[Progress | CorrectionSet]:
    """Task: the corrected frames of every saved study under `folder` (see the module's docstring)."""
    files = study_files(folder)
    frames: list[CorrectedFrame] = []
    skipped: list[tuple[str, str]] = []
    studies = 0
    for i, path in enumerate(files):
        if is_cancelled(cancel):
            return
        yield Progress(i / max(len(files), 1), f"reading {path.name}")
        try:
            got = study_frames(path, size)
        except StudySkippedError as exc:
            skipped.append((path.name, str(exc)))
            continue
        frames.extend(got)
        studies += 1
    yield Progress(1.0, f"{len(frames)} frames from {studies} studies")
    yield CorrectionSet(tuple(frames), studies, tuple(skipped))


def study_frames(path: Path, size: int) -> list[CorrectedFrame]:
    """The corrected frames of one saved study (StudySkippedError with the reason when it gives none)."""
    from app.workflow.autosave import content_key

    data = _read_json(path)
    recording = _source_recording(data)
    if recording.modality == "mri" or recording.is_stack:
        raise StudySkippedError("not an echo clip (the site model is the echo network)")
    if content_key(recording) != (data.get("source") or {}).get("content_key"):
        raise StudySkippedError("the source file no longer holds the frames this work was saved on")
    state = _restored(recording, data)
    chosen = chosen_frames(state, bool(str((data.get("report") or {}).get("reviewer") or "").strip()))
    if not chosen:
        raise StudySkippedError("no frame corrected by hand, and the study is not signed")
    patient = state.recording.patient.patient_id.strip() or f"study {path.name[:12]}"
    try:
        images, labels = network_pairs(state, sorted(chosen), size)
    except (ValueError, IndexError) as exc:
        raise StudySkippedError(f"its contours cannot be drawn as label maps: {exc}") from exc
    return [CorrectedFrame(path.name, patient, f, chosen[f], im, lb)
            for f, im, lb in zip(sorted(chosen), images, labels, strict=True)]


def chosen_frames(state: RecordingState, signed: bool) -> dict[int, str]:
    """frame -> source ("hand", "propagated", "confirmed") of slice 0's frames with an LV contour."""
    with_lv = {f for (s, f), kinds in state.contours.items() if s == 0 and "endo" in kinds}
    out = {f: "confirmed" for f in (*state.ed_frames, *state.es_frames) if signed and f in with_lv}
    out.update({f: "propagated" for (s, f) in state.propagated_keys if s == 0 and f in with_lv})
    out.update({f: "hand" for (s, f) in state.edited_keys - state.propagated_keys if s == 0 and f in with_lv})
    return out


def network_pairs(state: RecordingState, frames: list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, S, S) float32 inputs and (N, S, S) uint8 label maps of the frames, cropped and resized as inference does."""
    import cv2

    from app.analysis.contours import contours_to_labels
    from app.ml.inference import network_frames
    from app.workflow.contour_adapter import lv_from_controls

    rec = state.recording
    images, (r0, r1, c0, c1) = network_frames(rec, size, 0, frames)
    labels = [contours_to_labels(lv_from_controls(state.contours[(0, f)]), rec.image_shape)[r0:r1, c0:c1]
              for f in frames]
    small = [cv2.resize(lb, (size, size), interpolation=cv2.INTER_NEAREST) for lb in labels]
    return images.astype(np.float32), np.stack(small).astype(np.uint8)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudySkippedError(f"unreadable ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != "cardiotrace-study":
        raise StudySkippedError("not a CardioTrace study file")
    return data


def _source_recording(data: dict[str, Any]) -> Recording:
    from app.data.errors import LoadError
    from app.data.readers import load_recording
    from app.data.recording import ECHO_VIEW_NAMES

    src = (data.get("source") or {}).get("path")
    if not src or not Path(src).exists():
        raise StudySkippedError(f"its recording is not found at {src or '(no path saved)'}")
    try:
        return load_recording(src, echo=data.get("view") in ECHO_VIEW_NAMES)
    except (LoadError, OSError, ValueError) as exc:
        raise StudySkippedError(f"its recording cannot be read: {exc}") from exc


def _restored(recording: Recording, data: dict[str, Any]) -> RecordingState:
    from app.workflow.recording_state import RecordingState
    from app.workflow.study_json import restore_state

    state = RecordingState(recording=recording, original=recording)
    try:
        restore_state(state, data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StudySkippedError(f"the saved work does not fit its recording: {exc}") from exc
    return state
