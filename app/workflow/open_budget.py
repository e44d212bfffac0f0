"""The memory budget of the recordings open in the viewer: the command line's rule for a study, held by every
recording open in this process (all study windows share the machine's memory).

`analyze` of several PATHs counts the recordings it holds together with app.data.readers.limits.StudyBudget (their
frames and label maps against STUDY_RAM_FRACTION of the physical memory). The viewer lets a user open hundreds of
files (a dropped folder, File ▸ Open) into study windows; without the same rule the system would kill the app for
memory and the user would lose the work. So, before a recording is placed in a study:

- `open_memory(studies)` counts what is open *now* (taken on the GUI thread from the open study windows, so that
  closing a recording or a window frees its share), `OpenMemory.refusal(new_bytes)` asks StudyBudget whether one
  more recording of `new_bytes` fits: None, or a `Refusal` saying how many are open and what they would need;
- `header_bytes` gives, from the file's header alone (no pixel decoded), a lower bound of a recording's images, so
  that one which cannot fit is refused before it is read at all (the exact size is checked once read);
- `refusal_text` is the one message for the refusals of one batch of opened files (what to do: close some
  recordings or study windows, or analyse the files as a batch with `python -m app analyze ... --out DIR`).

Recordings already open, and their edits, are never touched by a refusal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.data.errors import LoadError
from app.data.readers.limits import StudyBudget

if TYPE_CHECKING:
    from app.data.recording import SeriesInfo
    from app.workflow.study import StudyState

BATCH_COMMAND = "python -m app analyze FILE ... --out DIR"
NAMES_SHOWN = 5  # refused files named in the message; the rest counted


@dataclass(frozen=True)
class Refusal:
    """A recording not opened for lack of memory: its images take `new_bytes` (at least that when `estimated`, from
    its header before it was read), beside the `open_bytes` of the `n_open` recordings open in `n_windows` study
    windows."""

    new_bytes: int
    n_open: int
    open_bytes: int
    n_windows: int
    estimated: bool = False


@dataclass(frozen=True)
class OpenMemory:
    """The images' memory of each recording open now (`frame_bytes`), in `n_windows` study windows."""

    frame_bytes: tuple[int, ...] = ()
    n_windows: int = 0

    def refusal(self, new_bytes: int, estimated: bool = False) -> Refusal | None:
        """None when one more recording of `new_bytes` fits beside the open ones (limits.StudyBudget, the rule of
        `analyze` for a study), else why not."""
        budget = StudyBudget()
        try:
            for n_bytes in (*self.frame_bytes, int(new_bytes)):
                budget.add(None, n_bytes)
        except LoadError:
            return Refusal(int(new_bytes), len(self.frame_bytes), sum(self.frame_bytes), self.n_windows, estimated)
        return None


def open_memory(studies: Iterable[StudyState]) -> OpenMemory:
    """What the recordings of `studies` (one per open study window) hold now; an array two states share (a
    recording and its original, which differ only by view or calibration) counts once."""
    seen: set[int] = set()
    sizes: list[int] = []
    n_windows = 0
    for study in studies:
        n_windows += bool(len(study))
        for st in study.recordings:
            n_bytes = 0
            for rec in (st.recording, st.original):
                for array in rec.image_arrays:
                    if id(array) not in seen:
                        seen.add(id(array))
                        n_bytes += int(array.nbytes)
            sizes.append(n_bytes)
    return OpenMemory(tuple(sizes), n_windows)


def header_bytes(path: Path, listed: SeriesInfo | None = None) -> int | None:
    """A lower bound of the images' memory of the recording in `path` (or of the series `listed` from its folder),
    from the header alone: one byte a value (the readers size it with its value type and colours as they read it).
    None when the header does not tell: a file the header scan cannot list (the read then says why), a folder, or
    a video (its header's frame count is only an estimate)."""
    from app.data.readers import detect, series

    try:
        if listed is None:
            if path.is_dir():
                return None
            entries = series.scan([path])
            if len(entries) != 1:
                return None
            kind, info = entries[0].kind, entries[0].info
        else:
            info = listed
            kind = detect.sniff(Path(info.paths[0])) if len(info.paths) == 1 else detect.DICOM
    except Exception:  # noqa: BLE001 - only an early estimate: the read itself reports a broken file
        return None
    if kind == detect.VIDEO or not info.shape:
        return None
    return math.prod(max(int(n), 0) for n in info.shape)


def _size(n_bytes: int) -> str:
    if n_bytes >= 1024**3:
        return f"{n_bytes / 1024**3:.1f} GB"
    return f"{max(1, round(n_bytes / 1024**2))} MB"


def refusal_text(refusals: Sequence[Refusal]) -> str:
    """One message for the recordings of one batch refused for lack of memory: how many are open (as the last
    refusal saw them: the state the user now faces), what they would need with the refused ones, what to do."""
    last = refusals[-1]
    several = len(refusals) > 1
    need = last.open_bytes + sum(r.new_bytes for r in refusals)
    about = "at least" if any(r.estimated for r in refusals) else "about"
    these, it, its = (f"these {len(refusals)}", "them", "their") if several else ("this one", "it", "its")
    batch = f"analyse the files as a batch, without opening them in the viewer: {BATCH_COMMAND}"
    if not last.n_open:
        return (f"not enough memory to open {it}: {these} would need {about} {_size(need)} for {its} images, more "
                f"than this computer can hold together with {its} analysis. Instead, {batch}")
    are = "recordings are" if last.n_open > 1 else "recording is"
    windows = f" (in {last.n_windows} study windows)" if last.n_windows > 1 else ""
    return (f"not enough memory to open {it}: {last.n_open} {are} open{windows}, with about "
            f"{_size(last.open_bytes)} of images; with {these} they would need {about} {_size(need)}, more than "
            f"this computer can hold together with their analyses. Close some recordings (File ▸ Close recording) "
            f"or study windows, then open {it} again; or {batch}")
