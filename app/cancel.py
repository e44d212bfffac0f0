"""Cancellation of long tasks, for every layer: a task takes `cancel`, either a threading.Event (the UI's
workers) or a no-argument callable returning True when the user asked to stop, or None."""

from __future__ import annotations

import threading
from typing import Callable, Generator, TypeVar, Union

Cancel = Union[threading.Event, Callable[[], bool], None]
T = TypeVar("T")


def is_cancelled(cancel: Cancel) -> bool:
    """True when `cancel` (an Event, a callable or None) says stop."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def drain(generator: Generator[float, None, T], progress: Callable[[float], None] | None = None) -> T:
    """Run a generator that yields progress fractions (0..1) and returns its result; each fraction goes to
    `progress` when given. The blocking form of the cancellable generators (stop iterating them to cancel)."""
    while True:
        try:
            fraction = next(generator)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(fraction)
