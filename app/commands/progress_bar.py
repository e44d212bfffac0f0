"""A one-line progress bar on stderr for single analyses (`analyze PATH`), fed by the task protocol.

`terminal_bar(stream, label)` is an app.tasks ProgressFn drawing `label [#######.........]  42% segmenting`,
redrawn in place with a carriage return at most every REDRAW_S (and at 100 %), or None when the stream is not
a terminal: JSON on stdout, pipes and logs stay clean. `close()` wipes the line before the summary is printed.
The batch (`analyze --out`) shows Dask's own bar (app/workflow/cohort.py).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from app.tasks import Progress

BAR_WIDTH = 24
REDRAW_S = 0.1


def render(progress: Progress, label: str = "", width: int = BAR_WIDTH) -> str:
    """The bar's text for one Progress (no carriage return)."""
    fraction = min(max(float(progress.fraction), 0.0), 1.0)
    filled = int(round(fraction * width))
    bar = "#" * filled + "." * (width - filled)
    return " ".join(x for x in (label, f"[{bar}] {fraction * 100:3.0f}%", progress.message) if x)


class TerminalBar:
    """Draws each Progress on one line of `stream` (a terminal); see the module docstring."""

    def __init__(self, stream: TextIO, label: str = "") -> None:
        self.stream = stream
        self.label = label
        self._shown = ""
        self._drawn_s = float("-inf")

    def __call__(self, progress: Progress) -> None:
        text = render(progress, self.label)
        now = time.monotonic()
        if text == self._shown or (now - self._drawn_s < REDRAW_S and progress.fraction < 1.0):
            return
        self.stream.write("\r" + text.ljust(len(self._shown)))
        self.stream.flush()
        self._shown, self._drawn_s = text, now

    def close(self) -> None:
        """Wipe the bar's line (nothing when nothing was drawn)."""
        if self._shown:
            self.stream.write("\r" + " " * len(self._shown) + "\r")
            self.stream.flush()
            self._shown = ""


def terminal_bar(stream: TextIO | None = None, label: str = "") -> TerminalBar | None:
    """A TerminalBar on `stream` (default stderr) when it is a terminal, else None."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return TerminalBar(stream, label) if isatty is not None and isatty() else None
