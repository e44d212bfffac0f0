"""Progress reports and cancellation for long reads (folders of thousands of DICOM files), in the app's
one task protocol (app.tasks): the caller passes `progress(Progress)` and `cancel` (Event, callable or None).

Inside the readers a `Step` callback `step(fraction, message)` is threaded through; it reports the
clamped fraction and raises LoadCancelled (a LoadError, so callers that only handle LoadError still show
one line and never crash) when `cancel` fires: the reader stops at the next file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.data.errors import LoadError
from app.tasks import Cancel, Progress, ProgressFn, is_cancelled

Step = Callable[[float, str], None]


class LoadCancelled(LoadError):  # noqa: N818 - a cancellation, not an error
    """The user cancelled a read."""


def reporter(where: Path, progress: ProgressFn | None, cancel: Cancel) -> Step | None:
    """The Step of one read of `where` (None when nobody listens and nothing can cancel)."""
    if progress is None and cancel is None:
        return None

    def step(fraction: float, message: str) -> None:
        if is_cancelled(cancel):
            raise LoadCancelled(where, "loading was cancelled")
        if progress is not None:
            progress(Progress(min(max(float(fraction), 0.0), 1.0), message))

    return step


def report(step: Step | None, fraction: float, message: str) -> None:
    """Report a step of the read (LoadCancelled when the user cancelled)."""
    if step is not None:
        step(fraction, message)


def scaled(step: Step | None, start: float, stop: float) -> Step | None:
    """A Step mapping 0..1 onto start..stop of `step` (None stays None)."""
    if step is None:
        return None
    return lambda fraction, message: step(start + (stop - start) * fraction, message)
