"""Reopening a recording with the work saved on it: the autosaved state read, restored and measured, off the GUI.

`reopen(recording, measure_fn)` is what opening a file does after reading it: the recording's autosave key (a
hash of its pixels), its saved state if there is one (the keyed file in the user data folder, else a legacy
side-car), checked against the recording, put back on a fresh RecordingState and measured, with the analysis
rebuilt from its contours (labels drawn from them). It touches no study and emits nothing, so the viewer runs it
in the worker that read the file (app/ui/file_open.py) and the GUI thread only adds the finished state
(StudyState.add_restored). A saved state that cannot be used is a `problem` (title, text) for the user; the
recording then opens without it.

`restore_into(st, data, measure_fn)` is the restoring step itself, shared with StudyState.restore_json.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from app.data.recording import Recording
from app.workflow.recording_state import RecordingState
from app.workflow.study_json import RestoredExtras, restore_state

if TYPE_CHECKING:
    from app.workflow.results import Measurements

MeasureFn = Callable[[RecordingState], "Measurements | None"]


@dataclass(frozen=True)
class Reopened:
    """A recording as read (`recording`) and its state for the viewer: restored from `saved_path` when `extras`
    is set (`legacy`: found as a legacy side-car, to be copied to the user data folder), else fresh; `problem`:
    (title, text) when a saved state was found but not applied."""

    recording: Recording
    state: RecordingState
    extras: RestoredExtras | None = None
    saved_path: Path | None = None
    legacy: bool = False
    problem: tuple[str, str] | None = None


def measure_into(st: RecordingState, measure_fn: MeasureFn) -> None:
    """st.measurements from `measure_fn`, or None with st.measure_error when the contours cannot be measured."""
    try:
        st.measurements = measure_fn(st)
        st.measure_error = ""
    except Exception as exc:  # noqa: BLE001 - a contour a user drew badly must not crash the viewer
        st.measurements = None
        st.measure_error = f"{type(exc).__name__}: {exc}"


def restore_into(st: RecordingState, data: dict[str, Any], measure_fn: MeasureFn) -> RestoredExtras:
    """Put a state saved by StudyState.to_json back on `st`, measured, with its analysis rebuilt (ValueError on
    a malformed file)."""
    extras = restore_state(st, data)
    measure_into(st, measure_fn)
    if st.analyzed and st.contours and st.measurements is not None:
        from app.workflow.study_analysis import analysis_from_state

        st.analysis = analysis_from_state(st, extras.segmenter, extras.segmenter_flags, extras.rv_left_out,
                                          (extras.ed_es_method, extras.ed_es_fallback))
        if extras.segmenter_flags:  # measured again with the segmenter's flags, as after the analysis
            measure_into(st, measure_fn)
            st.analysis = replace(st.analysis, measurements=st.measurements)
    return extras


def reopen(recording: Recording, measure_fn: MeasureFn) -> Reopened:
    """The recording's state with its saved work applied when there is usable saved work (module docstring)."""
    from app.workflow import autosave

    fresh = RecordingState(recording=recording, original=recording)
    if recording.source_path is None:
        return Reopened(recording, fresh)
    fresh.content_key = key = autosave.content_key(recording)
    try:
        found = autosave.find_saved(key, recording.source_path, recording.series_description)
    except autosave.StudyFileError as exc:
        return Reopened(recording, fresh, problem=("Saved state unreadable",
                                                   f"{exc}\n\nThe recording opens without it."))
    if found is None:
        return Reopened(recording, fresh)
    if not autosave.matches_source(found.data, recording, key):
        return Reopened(recording, fresh, problem=(
            "Saved state does not match",
            f"{found.path} was saved for a different version of this recording; it is not applied."))
    st = RecordingState(recording=recording, original=recording, content_key=key)
    try:
        extras = restore_into(st, found.data, measure_fn)
    except (ValueError, KeyError, TypeError) as exc:
        return Reopened(recording, fresh, problem=("Saved state unreadable",
                                                   f"{found.path}: {exc}\n\nThe recording opens without it."))
    return Reopened(recording, st, extras, found.path, found.legacy)
