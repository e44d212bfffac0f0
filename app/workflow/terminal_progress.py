"""Progress on the command line: one bar (tqdm) for one analysis (`analyze PATH`) or a whole batch (`--out`).

`TerminalProgress(stream, total)`: on a terminal a tqdm bar redrawn in place (at most every REDRAW_S, and
always at the end); `show(done, message)` moves it to `done` of `total` (fractional while an item runs);
`note(text)` prints a line above the bar, or a plain line when the stream is not a terminal, so logs get
one line per finished file; `close()` wipes the bar.
`terminal_bar(stream, label)` is the app.tasks ProgressFn of one analysis, or None when the stream is not a
terminal: JSON on stdout, pipes and logs stay clean; `run_with_bar(task, stream, label)` runs a task under it.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Never, TextIO

from app.tasks import Progress

if TYPE_CHECKING:
    from tqdm import tqdm

REDRAW_S = 0.1
FALLBACK_SIZE = (100, 24)  # columns, rows
BAR_FORMAT = "{percentage:3.0f}%|{bar:24}| {elapsed}<{remaining} {desc}"


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return 0


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class TerminalProgress:
    """A bar of `total` items on `stream` when it is a terminal; plain lines for `note` otherwise."""

    def __init__(self, stream: TextIO, total: float = 1.0) -> None:
        self.stream = stream
        self.total = max(float(total), 1e-9)
        self._bar: tqdm[Never] | None = None
        if is_terminal(stream):
            from tqdm import tqdm

            # miniters=0: every show() is considered, and mininterval alone throttles the redraws. A terminal
            # that reports no size (a bare pseudo-terminal) gets FALLBACK_SIZE: tqdm would draw nothing.
            sized = _columns(stream) > 0
            self._bar = tqdm(total=self.total, file=stream, leave=False, dynamic_ncols=sized,
                             ncols=None if sized else FALLBACK_SIZE[0], nrows=None if sized else FALLBACK_SIZE[1],
                             miniters=0, mininterval=REDRAW_S, bar_format=BAR_FORMAT)

    def show(self, done: float, message: str = "") -> None:
        """Move the bar to `done` of total with `message` beside it (nothing when not a terminal)."""
        bar = self._bar
        if bar is None:
            return
        done = min(max(float(done), 0.0), self.total)
        bar.set_description_str(message, refresh=False)
        bar.update(done - bar.n)  # tqdm redraws when REDRAW_S has passed since its last redraw
        if done >= self.total:
            bar.refresh()

    def note(self, text: str) -> None:
        """One line: above the bar on a terminal, plain otherwise."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Wipe the bar's line (leave=False), the cursor back at its start."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _AnalysisBar:
    """The ProgressFn of one analysis on a TerminalProgress of total 1."""

    def __init__(self, progress: TerminalProgress, label: str) -> None:
        self.progress, self.label = progress, label

    def __call__(self, progress: Progress) -> None:
        message = ": ".join(x for x in (self.label, progress.message) if x)
        self.progress.show(progress.fraction, message)

    def close(self) -> None:
        self.progress.close()


def terminal_bar(stream: TextIO | None = None, label: str = "") -> _AnalysisBar | None:
    """The bar of one analysis on `stream` (default stderr) when it is a terminal, else None."""
    stream = stream if stream is not None else sys.stderr
    return _AnalysisBar(TerminalProgress(stream), label) if is_terminal(stream) else None


def run_with_bar(task: Iterator[Any], stream: TextIO | None = None, label: str = "") -> Any:
    """The task's result (app.tasks.run_task), its progress on terminal_bar, the bar wiped at the end."""
    from app.tasks import run_task

    bar = terminal_bar(stream, label)
    try:
        return run_task(task, bar)
    finally:
        if bar is not None:
            bar.close()
