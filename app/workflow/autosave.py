"""Autosave of the study state to a sidecar JSON file beside each recording, written atomically.

Sidecar: `<file>.cardiotrace.json` beside a file, `<folder>.<series-tag>.cardiotrace.json` beside a
folder (an MR series; a folder can hold several, hence the tag from the series description). When that folder is read-only, the user data folder is used instead
($CARDIOTRACE_DATA_DIR, else $XDG_DATA_HOME/cardiotrace/autosave, else ~/.local/share/cardiotrace/autosave).
Writes go to a temporary file in the same folder, fsync, then os.replace: a crash leaves either the old
or the new file, never half of one. `AutosaveScheduler` is the Qt-free debounce bookkeeping (the UI
drives it with a single-shot timer restarted on every edit).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.data.recording import Recording

SUFFIX = ".cardiotrace.json"
DEBOUNCE_S = 1.5


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


def sidecar_path(source_path: Path, series: str = "") -> Path:
    """`<file>.cardiotrace.json`; for a folder, the series is in the name (a folder may hold several)."""
    source_path = Path(source_path)
    tag = _series_tag(series) if source_path.is_dir() else ""
    return source_path.parent / (source_path.name + tag + SUFFIX)


def fallback_path(source_path: Path, series: str = "") -> Path:
    tag = _series_tag(series) if Path(source_path).is_dir() else ""
    digest = hashlib.sha1(str(Path(source_path).resolve()).encode("utf-8")).hexdigest()[:12]
    return user_data_dir() / f"{Path(source_path).name}{tag}-{digest}{SUFFIX}"


def candidate_paths(source_path: Path, series: str = "") -> list[Path]:
    return [sidecar_path(source_path, series), fallback_path(source_path, series)]


def source_fingerprint(recording: Recording) -> dict:
    """What identifies the source: path, size (file, or sum over a folder), frame shape."""
    src = recording.source_path
    out = {"path": str(src) if src else None, "shape": [int(v) for v in recording.frames.shape], "size": None,
           "series": recording.series_description}
    if src is not None and Path(src).exists():
        p = Path(src)
        out["size"] = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*")
                                                                if f.is_file() and not f.name.endswith(SUFFIX))
    return out


def write_atomic(path: Path, data: dict) -> None:
    """Write JSON to `path` atomically (temp file in the same folder + fsync + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
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


def save(data: dict, source_path: Path, series: str = "") -> Path:
    """Save beside the recording, or in the user data folder when that fails. Returns the path used."""
    errors = []
    for path in candidate_paths(source_path, series):
        try:
            write_atomic(path, data)
            return path
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
    raise OSError("could not autosave: " + "; ".join(errors))


def read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyFileError(path, f"cannot read the saved study ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != "cardiotrace-study":
        raise StudyFileError(path, "not a CardioTrace study file")
    return data


def find_saved(source_path: Path, series: str = "") -> tuple[Path, dict] | None:
    """The most recent saved state for a recording, or None. Raises StudyFileError when unreadable."""
    existing = [p for p in candidate_paths(source_path, series) if p.is_file()]
    if not existing:
        return None
    path = max(existing, key=lambda p: p.stat().st_mtime_ns)
    return path, read(path)


def matches_source(data: dict, recording: Recording) -> bool:
    """True when the saved state was made on a recording of the same shape and size."""
    saved = data.get("source") or {}
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

    def __init__(self, delay_s: float = DEBOUNCE_S, clock=time.monotonic) -> None:
        self.delay_s = delay_s
        self._clock = clock
        self._dirty: set[int] = set()
        self._last_edit_s = 0.0
        self.last_results: list[SaveResult] = []

    def mark(self, index: int) -> None:
        self._dirty.add(index)
        self._last_edit_s = self._clock()

    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    def due(self) -> bool:
        return self.pending and self._clock() - self._last_edit_s >= self.delay_s

    def flush(self, study) -> list[SaveResult]:
        """Save every dirty recording that has a source path; failures stay dirty and are reported."""
        results = []
        for index in sorted(self._dirty):
            st = study[index]
            if st.recording.source_path is None:
                self._dirty.discard(index)
                results.append(SaveResult(index, None, "in-memory recording: nothing to save beside"))
                continue
            try:
                path = save(study.to_json(index), st.recording.source_path, st.recording.series_description)
                self._dirty.discard(index)
                results.append(SaveResult(index, path))
            except OSError as exc:
                results.append(SaveResult(index, None, str(exc)))
        self.last_results = results
        return results
