"""Retrieved series on disk, size-limited and reused: a series is either complete or absent, never half.

Layout: <root>/<study_uid>/<series_uid>/*.dcm plus `.complete.json` (the instance count the node listed).
A retrieval writes into a staging folder `<root>/.partial-*`; only `commit` (every listed instance
received) renames it into place, so a cancelled or failed retrieval leaves nothing that could be opened.
Root: $CARDIOTRACE_CACHE_DIR, else $XDG_CACHE_HOME/cardiotrace/pacs, else ~/.cache/cardiotrace/pacs.
Limit: $CARDIOTRACE_PACS_CACHE_MB (default 4096); the least recently opened series go first.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from app.pacs.errors import PacsError
from app.pacs.models import RetrievedSeries

MARKER = ".complete.json"
DEFAULT_LIMIT_MB = 4096


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get("CARDIOTRACE_CACHE_DIR"):
        return Path(environ["CARDIOTRACE_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cardiotrace" / "pacs"


def default_limit_bytes(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    try:
        mb = float(environ.get("CARDIOTRACE_PACS_CACHE_MB", DEFAULT_LIMIT_MB))
    except ValueError:
        mb = DEFAULT_LIMIT_MB
    return int(mb * 1024 * 1024)


def _safe(uid: str) -> str:
    uid = str(uid).strip()
    if not uid or not all(c.isdigit() or c == "." for c in uid):
        raise PacsError(f"not a DICOM UID: {uid!r}")
    return uid


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


class SeriesCache:
    """The cache folder; see the module doc."""

    def __init__(self, root: str | Path | None = None, limit_bytes: int | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.limit_bytes = default_limit_bytes() if limit_bytes is None else int(limit_bytes)

    def series_folder(self, study_uid: str, series_uid: str) -> Path:
        return self.root / _safe(study_uid) / _safe(series_uid)

    def lookup(self, study_uid: str, series_uid: str) -> RetrievedSeries | None:
        """The complete series when it is cached (and marks it recently used), else None."""
        folder = self.series_folder(study_uid, series_uid)
        marker = folder / MARKER
        if not marker.is_file():
            return None
        try:
            n = int(json.loads(marker.read_text(encoding="utf-8"))["n_instances"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if len(list(folder.glob("*.dcm"))) != n:
            return None
        os.utime(marker)
        return RetrievedSeries(study_uid, series_uid, str(folder), n, from_cache=True)

    def begin(self) -> Path:
        """A new empty staging folder for one retrieval."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".partial-", dir=self.root))

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def commit(self, staging: Path, study_uid: str, series_uid: str, expected: int | None) -> RetrievedSeries:
        """Move a finished staging folder into place; PacsError (and nothing kept) when instances are missing."""
        received = len(list(Path(staging).glob("*.dcm")))
        if received == 0 or (expected is not None and received < expected):
            self.discard(staging)
            raise PacsError(f"series {series_uid}: received {received} of {expected if expected is not None else '?'} "
                            "instances; the incomplete series was not kept")
        (Path(staging) / MARKER).write_text(json.dumps({"n_instances": received, "time": time.time()}),
                                            encoding="utf-8")
        target = self.series_folder(study_uid, series_uid)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        self.evict(keep=target)
        return RetrievedSeries(study_uid, series_uid, str(target), received)

    def complete_series(self) -> list[Path]:
        return [m.parent for m in self.root.glob(f"*/*/{MARKER}")]

    def size_bytes(self) -> int:
        return sum(folder_bytes(f) for f in self.complete_series())

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Remove the least recently used series until the cache fits its limit; `keep` stays."""
        folders = sorted(self.complete_series(), key=lambda f: (f / MARKER).stat().st_mtime)
        sizes = {f: folder_bytes(f) for f in folders}
        total = sum(sizes.values())
        removed = []
        for folder in folders:
            if total <= self.limit_bytes:
                break
            if keep is not None and folder == keep:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            total -= sizes[folder]
            removed.append(folder)
            if folder.parent.is_dir() and not any(folder.parent.iterdir()):
                folder.parent.rmdir()
        return removed
