"""What C and C++ libraries print on the process's stderr while they read a file, kept off the terminal.

ITK's MetaImage and NIfTI parsers (MetaIO, nifticlib) and GDCM's codecs report a damaged file by printing on
file descriptor 2 ("MetaImage: Read: Cannot parse file", "** ERROR: nifti_convert_nhdr2nim: bad dim[0]",
"Uncompress failed") and then fail with a generic error, or not at all. The command line's contract is one
clear line on bad input, so a reader runs such a library inside `native_stderr_captured()` and uses what it
printed in that line (`first_line`), or gives it back to stderr (`emit`) when the read went well. Python's own
writes to sys.stderr are flushed before and after, so they are not mixed into the capture out of order.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

# How ITK's MetaIO and nifticlib, and GDCM, word a failure on stderr (MetaIO goes on after "Uncompress failed").
FAILURE_MARKS = ("Uncompress failed", "MetaImage: ", "MetaObject: ", "** ERROR", "GDCM: ", "Error:")


@dataclass
class NativeStderr:
    """The text a block printed on file descriptor 2 (filled when the block ends)."""

    text: str = ""

    def first_line(self) -> str:
        """The first non-empty line, without a leading '** ERROR:' or 'ERROR:' tag ('' when none)."""
        for line in self.text.splitlines():
            line = line.strip()
            for tag in ("** ERROR:", "ERROR:", "**"):
                if line.upper().startswith(tag):
                    line = line[len(tag):].strip()
            if line:
                return line.rstrip(".")
        return ""

    def says_failed(self) -> bool:
        """Whether a reading library reported a failure (FAILURE_MARKS), not only a notice. Only the libraries'
        own words count: in the viewer another thread may write to stderr meanwhile (Qt, Python warnings)."""
        return any(mark in self.text for mark in FAILURE_MARKS)

    def emit(self) -> None:
        """Write the captured text to stderr after all (a read that succeeded and printed a notice)."""
        if self.text:
            sys.stderr.write(self.text)
            sys.stderr.flush()


@contextmanager
def native_stderr_captured() -> Iterator[NativeStderr]:
    """Capture file descriptor 2 for the block (a no-op capture where it cannot be redirected)."""
    captured = NativeStderr()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
