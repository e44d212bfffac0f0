"""What a batch run analyses: files and folders expanded into recordings, each with a stable identity.

Rules for a FOLDER argument (walked recursively, the output folder skipped):
- NIfTI, MetaImage and video files are one recording each;
- DICOM files of one folder are grouped by the readers' `list_series`: a series of several files (a cine
  MR stack of single-frame images) is one recording (folder + series key), a single file is itself;
- files that are not recordings (sidecars, CSV, text) are skipped, unless their extension says they
  should be one (.dcm, .nii, .nii.gz, .mhd, .avi, .mp4): those are kept so their error is reported.
A FILE argument is always kept, so a broken file named on the command line lands in the summary.

`source_stamp` is the (size, mtime_ns) identity used to decide that a finished result is still valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RECORDING_SUFFIXES = (".dcm", ".dicom", ".nii", ".nii.gz", ".mhd", ".avi", ".mp4", ".mov")


@dataclass(frozen=True)
class BatchItem:
    """One recording of a batch: a file, or a folder + series key (multi-file DICOM series)."""

    path: Path
    series_key: str | None = None
    files: tuple[Path, ...] = ()  # the files the recording is read from (for the size/mtime stamp)

    @property
    def key(self) -> str:
        return str(self.path) + (f"#{self.series_key}" if self.series_key else "")

    @property
    def label(self) -> str:
        return self.path.name + (f" [{self.series_key[-12:]}]" if self.series_key else "")

    @property
    def result_name(self) -> str:
        digest = hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:10]
        stem = self.path.name.split(".")[0] or "recording"
        return f"{stem}-{digest}"


def source_stamp(item: BatchItem) -> dict[str, int]:
    """{"size": total bytes, "mtime_ns": newest modification} of the item's files (or its path)."""
    files = list(item.files) or ([p for p in sorted(item.path.rglob("*")) if p.is_file()]
                                 if item.path.is_dir() else [item.path])
    size, mtime = 0, 0
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
    return {"size": size, "mtime_ns": mtime, "files": len(files)}


def collect_inputs(paths: Iterable[str | Path], exclude: Path | None = None) -> list[BatchItem]:
    """BatchItems for the given files and folders, in a stable order, without duplicates."""
    items: list[BatchItem] = []
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        found = _expand_folder(path, exclude) if path.is_dir() else [BatchItem(path.resolve())]
        for item in found:
            if item.key not in seen:
                seen.add(item.key)
                items.append(item)
    return items


def _kind(path: Path) -> str | None:
    from app.data.errors import LoadError
    from app.data.readers.detect import sniff

    try:
        return sniff(path)
    except LoadError:
        return None


MANIFEST_FORMAT = "cardiotrace-batch-manifest"


def is_batch_output(folder: Path) -> bool:
    """A folder an earlier `analyze --out` wrote (its manifest.json says so): its cines and masks are our own
    outputs, not recordings to measure."""
    manifest = folder / "manifest.json"
    try:
        return manifest.is_file() and f'"{MANIFEST_FORMAT}"' in manifest.read_text(encoding="utf-8")[:200]
    except (OSError, UnicodeDecodeError):
        return False


def _expand_folder(folder: Path, exclude: Path | None) -> list[BatchItem]:
    folder = folder.resolve()
    exclude = exclude.resolve() if exclude is not None else None
    items: list[BatchItem] = []
    dicoms: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # an unreadable folder: one failed item with the reader's reason, the rest goes on
        return [BatchItem(folder)]
    for entry in entries:
        if exclude is not None and entry.resolve() == exclude:
            continue
        if entry.name.startswith(".") or is_batch_output(entry):  # an earlier run's results: not recordings
            continue
        if entry.is_dir():
            items += _expand_folder(entry, exclude)
            continue
        kind = _kind(entry)
        if kind == "dicom":
            dicoms.append(entry)
        elif kind is not None or entry.name.lower().endswith(RECORDING_SUFFIXES):
            items.append(BatchItem(entry))
    return _dicom_items(folder, dicoms) + items


def _dicom_items(folder: Path, dicoms: list[Path]) -> list[BatchItem]:
    if len(dicoms) <= 1:
        return [BatchItem(p) for p in dicoms]
    try:
        from app.data.readers import list_series

        series = list_series(folder)
    except Exception:  # noqa: BLE001 - the readers cannot group them: analyze each file on its own
        return [BatchItem(p) for p in dicoms]
    mine = {p.resolve() for p in dicoms}
    items: list[BatchItem] = []
    grouped: set[Path] = set()
    for info in series:  # list_series may look into subfolders: keep only this folder's DICOM files
        paths = tuple(q for q in (Path(p).resolve() for p in (info.paths or ())) if q in mine)
        grouped.update(paths)
        if not paths:
            continue
        if len(paths) == 1:
            items.append(BatchItem(paths[0]))
        else:
            items.append(BatchItem(folder, info.key, paths))
    items += [BatchItem(p) for p in dicoms if p.resolve() not in grouped]
    return items
