"""Progress reports and cancellation for long reads (folders of thousands of DICOM files).

A caller passes `progress(fraction, message) -> bool | None`; fraction runs 0..1. Returning False
cancels: the reader stops at the next file and raises LoadCancelled (a LoadError, so callers that only
handle LoadError still show one line and never crash).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.data.errors import LoadError

Progress = Callable[[float, str], "bool | None"]


class LoadCancelled(LoadError):
    """The user cancelled a read through the progress callback."""


def report(progress: Progress | None, where: Path | None, fraction: float, message: str) -> None:
    """Call `progress`; raise LoadCancelled when it answers False."""
    if progress is not None and progress(min(max(float(fraction), 0.0), 1.0), message) is False:
        raise LoadCancelled(where, "loading was cancelled")


def scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """A callback mapping 0..1 onto start..stop of `progress` (None stays None)."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (stop - start) * fraction, message)
