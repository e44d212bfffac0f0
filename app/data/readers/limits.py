"""Memory guard: refuse recordings too large to decode, before decoding them.

A reader estimates the decoded size from the header (rows x columns x frames x samples x bytes, and
the float/grey working copies) and calls `check_decoded_size`. The limit is MAX_RAM_FRACTION of the
physical memory (os.sysconf), or CARDIOTRACE_MAX_LOAD_MB from the environment when set. Recordings held together
as one study count against STUDY_RAM_FRACTION of it as each is loaded (`StudyBudget`).
A summary that holds only a sample of the frames (summary_only.py) reads a file too large to load all the same: within
`refusals_deferred` a check the reader marks `deferrable` records its LoadError instead of raising it, so the summary
can say why the load refuses the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from app.data.errors import LoadError

MAX_RAM_FRACTION = 0.4
# Recordings analysed as one study are all held at once, each with its label maps (as large as its frames): their
# frames may take this share of the physical memory, half of it as frames and half as labels, the rest left to one
# analysis' working set and the system.
STUDY_RAM_FRACTION = 0.7
FALLBACK_RAM_BYTES = 8 * 1024**3  # when the platform cannot tell
WORKING_COPIES = 3  # decoded array + colour/grey conversion + masked copy


def physical_ram_bytes() -> int:
    """Physical memory of this machine in bytes (FALLBACK_RAM_BYTES when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return FALLBACK_RAM_BYTES


def max_load_bytes() -> int:
    """Largest decoded size accepted, in bytes."""
    override = os.environ.get("CARDIOTRACE_MAX_LOAD_MB", "").strip()
    if override:
        try:
            return max(1, int(float(override) * 1024**2))
        except ValueError:
            pass
    return int(physical_ram_bytes() * MAX_RAM_FRACTION)


def estimate_bytes(*dims: int, bytes_per_value: int = 1, copies: int = WORKING_COPIES) -> int:
    """Bytes needed for an array of shape `dims` of `bytes_per_value`, times working `copies`."""
    total = int(bytes_per_value) * int(copies)
    for d in dims:
        total *= max(int(d), 0)
    return total


_deferred: ContextVar[list[LoadError] | None] = ContextVar("cardiotrace_deferred_refusals", default=None)


@contextmanager
def refusals_deferred() -> Iterator[list[LoadError]]:
    """Within it, a `deferrable` check_decoded_size that fails appends its LoadError to the list yielded, in the order
    a load meets them (the first is the one load_recording raises), instead of raising it."""
    refused: list[LoadError] = []
    token = _deferred.set(refused)
    try:
        yield refused
    finally:
        _deferred.reset(token)


def check_decoded_size(path: str | Path | None, n_bytes: int, what: str = "the recording",
                       deferrable: bool = False) -> None:
    """LoadError when `n_bytes` exceeds the memory limit, saying how large and what the limit is. deferrable: the
    caller reads for a summary without holding the `n_bytes` (summary_only.py): within refusals_deferred the error is
    recorded there, not raised; a full load never passes it."""
    limit = max_load_bytes()
    if n_bytes > limit:
        error = LoadError(
            path,
            f"{what} would need about {n_bytes / 1024**3:.1f} GB of memory once decoded; "
            f"the limit on this machine is {limit / 1024**3:.1f} GB, so it was not loaded",
        )
        refused = _deferred.get() if deferrable else None
        if refused is None:
            raise error
        refused.append(error)


class StudyBudget:
    """The memory of recordings analysed together, added as each is loaded: `add` raises LoadError once their
    frames and label maps would pass STUDY_RAM_FRACTION of the physical memory: a shell glob of hundreds of
    clinical clips given as one study would otherwise be killed by the system for memory, not refused."""

    def __init__(self) -> None:
        self.n_recordings = 0
        self.frame_bytes = 0

    def add(self, path: str | Path | None, frame_bytes: int) -> None:
        self.n_recordings += 1
        self.frame_bytes += int(frame_bytes)
        limit = int(physical_ram_bytes() * STUDY_RAM_FRACTION)
        if 2 * self.frame_bytes > limit:
            raise LoadError(
                path,
                f"the {self.n_recordings} recordings read so far, analysed as one study, would need about "
                f"{2 * self.frame_bytes / 1024**3:.1f} GB of memory with their label maps, more than the "
                f"{limit / 1024**3:.1f} GB this machine allows: analyse them one at a time as a batch (--out DIR)",
            )
