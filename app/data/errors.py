"""Errors the data layer raises for bad input. Each carries one clear line for the user."""

from __future__ import annotations

from pathlib import Path


class LoadError(Exception):
    """A file or folder could not be read as a recording.

    The message always names the file and says what is wrong, on one line, so the CLI can print it
    to stderr and the viewer can show it in a dialog.
    """

    def __init__(self, path: str | Path | None, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = " ".join(str(reason).split())
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{self.reason}")
