"""Autosave of the study state to the user's data folder, keyed by the recording's content, written atomically.

Work is kept in the per-user application data folder, never beside the source data (a read-only data
folder or a CD is normal): $CARDIOTRACE_DATA_DIR, else $XDG_DATA_HOME/cardiotrace/autosave, else
~/.local/share/cardiotrace/autosave. Each recording's file is `<content key>.cardiotrace.json`, the key
a hash of its pixel data, shape and series description (`content_key`): the same recording opened from
another path or a copy finds its work again, and two series of one folder have their own files.
A side-car `<file>.cardiotrace.json` beside the source (or the old per-path file in the data folder),
written by earlier versions, is still read when no keyed file exists (`find_saved` says it is legacy;
the viewer then writes it to the data folder). Writes go to a temporary file in the same folder, fsync,
then os.replace: a crash leaves either the old or the new file, never half of one. `AutosaveScheduler`
is the Qt-free debounce bookkeeping (the UI drives it with a single-shot timer restarted on every edit).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.data.recording import Recording
from app.workflow.json_pieces import json_pieces

if TYPE_CHECKING:  # for annotations only
    from app.workflow.study import StudyState

SUFFIX = ".cardiotrace.json"
DEBOUNCE_S = 1.5
# A change waits for a pause in the editing of DEBOUNCE_S, but never longer than this: a user who keeps editing
# (a mark every second) would otherwise have nothing saved until they stop, and a crash would take it all.
MAX_UNSAVED_S = 5.0


class StudyFileError(Exception):
    """A sidecar exists but cannot be read (corrupt JSON, wrong format)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def user_data_dir() -> Path:
    env = os.environ.get("CARDIOTRACE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cardiotrace" / "autosave"


def _series_tag(series: str) -> str:
    """A short file-name tag for one series of a folder holding several ('' for a single file)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", series).strip("-")[:24]
    digest = hashlib.sha1(series.encode("utf-8")).hexdigest()[:6]
    return f".{slug}-{digest}" if series else ""


def content_key(recording: Recording) -> str:
    """The recording's save key: a hash of its pixels, shape, type and series (not of its path)."""
    frames = np.ascontiguousarray(recording.frames)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{frames.shape}|{frames.dtype.str}|{recording.series_description}|".encode("utf-8"))
    digest.update(frames.data.cast("B"))
    return digest.hexdigest()


def saved_path(key: str) -> Path:
    """Where the work on the recording with this content key is kept."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        raise ValueError(f"not a content key: {key!r}")
    return user_data_dir() / f"{key}{SUFFIX}"


def sidecar_path(source_path: Path, series: str = "") -> Path:
    """Legacy (read only): `<file>.cardiotrace.json` beside the source; a folder's has the series tag."""
    source_path = Path(source_path)
    tag = _series_tag(series) if source_path.is_dir() else ""
    return source_path.parent / (source_path.name + tag + SUFFIX)


def fallback_path(source_path: Path, series: str = "") -> Path:
    """Legacy (read only): the per-path file earlier versions wrote when the source folder was read-only."""
    tag = _series_tag(series) if Path(source_path).is_dir() else ""
    digest = hashlib.sha1(str(Path(source_path).resolve()).encode("utf-8")).hexdigest()[:12]
    return user_data_dir() / f"{Path(source_path).name}{tag}-{digest}{SUFFIX}"


def legacy_paths(source_path: Path | None, series: str = "") -> list[Path]:
    if source_path is None:
        return []
    return [sidecar_path(source_path, series), fallback_path(source_path, series)]


def source_fingerprint(recording: Recording) -> dict[str, Any]:
    """What identifies the source: path, size (file, or sum over a folder), frame shape."""
    src = recording.source_path
    out: dict[str, Any] = {"path": str(src) if src else None, "shape": [int(v) for v in recording.frames.shape],
                              "size": None, "series": recording.series_description}
    if src is not None and Path(src).exists():
        p = Path(src)
        out["size"] = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*")
                                                                if f.is_file() and not f.name.endswith(SUFFIX))
    return out


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to `path` atomically (temp file in the same folder + fsync + os.replace); `data` may hold parts
    already encoded (app.workflow.json_pieces: a state's contours, StudyState.document)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(json_pieces(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some filesystems do not allow fsync on a directory


def save(data: dict[str, Any], key: str) -> Path:
    """Save the state of the recording with this content key in the user data folder; returns the path."""
    path = saved_path(key)
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise OSError(f"could not autosave to {path}: {exc.strerror or exc}") from exc
    return path


def read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyFileError(path, f"cannot read the saved study ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != "cardiotrace-study":
        raise StudyFileError(path, "not a CardioTrace study file")
    return data


@dataclass(frozen=True)
class SavedState:
    path: Path
    data: dict[str, Any]
    legacy: bool  # found beside the source or under the old per-path name: write it to saved_path(key)


def find_saved(key: str, source_path: Path | None = None, series: str = "") -> SavedState | None:
    """The saved state of a recording: its keyed file, else (read only) a legacy side-car, else None.
    Raises StudyFileError when the file found is unreadable."""
    path = saved_path(key)
    if path.is_file():
        return SavedState(path, read(path), legacy=False)
    legacy = [p for p in legacy_paths(source_path, series) if p.is_file()]
    if not legacy:
        return None
    path = max(legacy, key=lambda p: p.stat().st_mtime_ns)
    return SavedState(path, read(path), legacy=True)


def matches_source(data: dict[str, Any], recording: Recording, key: str = "") -> bool:
    """True when the saved state was made on this recording: the same content key, or (a legacy file
    without one) the same shape, file size and series."""
    saved = data.get("source") or {}
    if key and saved.get("content_key"):
        return bool(saved["content_key"] == key)
    now = source_fingerprint(recording)
    return (saved.get("shape") == now["shape"] and saved.get("size") in (None, now["size"])
            and saved.get("series", now["series"]) == now["series"])


@dataclass
class SaveResult:
    index: int
    path: Path | None
    error: str = ""


class AutosaveScheduler:
    """Which recordings have unsaved edits, and since when (monotonic seconds)."""

    def __init__(self, delay_s: float = DEBOUNCE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay_s = delay_s
        self._clock = clock
        self._dirty: set[int] = set()
        self._last_edit_s = 0.0
        self._first_unsaved_s = 0.0
        self.last_results: list[SaveResult] = []

    def mark(self, index: int) -> None:
        if not self._dirty:
            self._first_unsaved_s = self._clock()
        self._dirty.add(index)
        self._last_edit_s = self._clock()

    def wait_s(self) -> float:
        """How long a save of what is pending may wait from now: a pause of delay_s after the last change, but
        no later than MAX_UNSAVED_S after the first change not saved."""
        left = self._first_unsaved_s + max(MAX_UNSAVED_S, self.delay_s) - self._clock()
        return max(0.0, min(self.delay_s, left))

    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    def forget(self, index: int) -> None:
        """A recording was closed: drop it and move the later indices up one."""
        self._dirty = {i - (i > index) for i in self._dirty if i != index}
        self.last_results = [SaveResult(r.index - (r.index > index), r.path, r.error) for r in self.last_results
                             if r.index != index]

    def due(self) -> bool:
        return self.pending and self._clock() - self._last_edit_s >= self.delay_s

    def take_documents(self, study: StudyState) -> list[tuple[int, str, dict[str, Any]]]:
        """(index, key, document) of every dirty recording opened from a file, for a writer in another thread
        (app/workflow/autosave_thread.py); they count as saved from now on (a write that fails marks its recording
        again). In-memory recordings are dropped, as flush drops them."""
        out = []
        for index in sorted(self._dirty):
            if study[index].recording.source_path is not None:
                out.append((index, study.save_key(index), study.document(index)))
        self._dirty.clear()
        return out

    def flush(self, study: StudyState) -> list[SaveResult]:
        """Save every dirty recording opened from a file; failures stay dirty and are reported."""
        results = []
        for index in sorted(self._dirty):
            st = study[index]
            if st.recording.source_path is None:
                self._dirty.discard(index)
                results.append(SaveResult(index, None, "in-memory recording: not saved"))
                continue
            try:
                path = save(study.document(index), study.save_key(index))
                self._dirty.discard(index)
                results.append(SaveResult(index, path))
            except OSError as exc:
                results.append(SaveResult(index, None, str(exc)))
        self.last_results = results
        return results
