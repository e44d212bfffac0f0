"""Long tasks, for every layer: one progress report, one way to cancel, one way to run a task to the end.

A task is a generator. It yields `Progress(fraction, message)` as it goes (fraction 0..1 of the whole
task) and its result as its last other item (or returns it, so `result = yield from subtask` composes).
It takes `cancel`: a threading.Event (the UI's workers), a no-argument callable returning True when the
user asked to stop, or None; a cancelled task stops without a result.

- `run_task(task, on_progress=None)`: the blocking form (CLI, batch, tests): the result, or None when
  the task was cancelled.
- `scaled(task, start, stop)`: the subtask's progress mapped onto start..stop of the caller's, its result
  returned (`labels = yield from scaled(segment(...), 0.0, 0.8)`).
- app/ui/workers.py bridges a task to Qt signals.

Partial results: a Progress may carry `partial`, a typed frozen dataclass the task can already show before
its result (app.analysis.partial: a segmenter's FrameLabels, the segmenting step's TracedFrame). Callers that
only want the result ignore it; `scaled` keeps it; the viewer draws it as it comes (app/ui/workers.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, TypeVar, Union, overload

Cancel = Union[threading.Event, Callable[[], bool], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """fraction 0..1 of the whole task, what is happening now, and optionally a partial result (see above)."""

    fraction: float
    message: str = ""
    partial: object = None


ProgressFn = Callable[[Progress], None]


def is_cancelled(cancel: Cancel) -> bool:
    """True when `cancel` (an Event, a callable or None) says stop."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


@overload
def run_task(task: Generator[Progress | T, Any, T | None], on_progress: ProgressFn | None = None) -> T | None: ...
@overload
def run_task(task: Iterator[Progress | T], on_progress: ProgressFn | None = None) -> T | None: ...


def run_task(task: Iterator[Any], on_progress: ProgressFn | None = None) -> Any:
    """Run a task to its end: each Progress goes to `on_progress`; returns the result (the generator's
    return value, else its last item that is not a Progress), None when it was cancelled."""
    result = None
    while True:
        try:
            item = next(task)
        except StopIteration as stop:
            return stop.value if stop.value is not None else result
        if isinstance(item, Progress):
            if on_progress is not None:
                on_progress(item)
        else:
            result = item


@overload
def scaled(task: Generator[Progress | T, Any, T | None], start: float, stop: float
           ) -> Generator[Progress, None, T | None]: ...
@overload
def scaled(task: Iterator[Progress | T], start: float, stop: float) -> Generator[Progress, None, T | None]: ...


def scaled(task: Iterator[Any], start: float, stop: float) -> Generator[Progress, None, Any]:
    """Re-yield the task's Progress mapped onto start..stop; return its result (None when cancelled)."""
    result = None
    while True:
        try:
            item = next(task)
        except StopIteration as end:
            return end.value if end.value is not None else result
        if isinstance(item, Progress):
            fraction = min(max(float(item.fraction), 0.0), 1.0)
            yield Progress(start + (stop - start) * fraction, item.message, item.partial)
        else:
            result = item
