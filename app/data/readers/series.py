"""Folders and DICOMDIRs holding several recordings: list them, load the one asked for.

Grouping rule: single-frame MR images are grouped by SeriesInstanceUID (key = the UID) and stacked;
every other readable file (an ultrasound clip, an enhanced MR, a NIfTI/MetaImage, a video) is its own
entry (key = its path), because echo exams often put many separate clips into one DICOM series.
Files that are not recordings (DICOM SR, PDF, text, MetaImage .raw payloads) are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from app.data.errors import LoadError
from app.data.readers import detect, dicom_common as dc
from app.data.readers.progress import Step, report
from app.data.recording import SeriesInfo

MAX_FILES = 20000


@dataclass(frozen=True)
class Entry:
    """One loadable recording in a folder: its listing and how to read it."""

    info: SeriesInfo
    kind: str  # "mr_files" or a detect kind (dicom, nifti, metaimage, video)


def _files_under(folder: Path) -> list[Path]:
    dicomdir = next((p for p in folder.iterdir() if p.name.upper() == "DICOMDIR" and p.is_file()), None)
    if dicomdir is not None:
        return dicomdir_files(dicomdir)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) > MAX_FILES:
        raise LoadError(folder, f"{len(files)} files under this folder; open a smaller folder (at most {MAX_FILES})")
    return files


def dicomdir_files(path: Path) -> list[Path]:
    """Paths of the image files a DICOMDIR references (relative to its folder)."""
    ds = dc.read_dataset(path, header_only=False)
    records = dc.get(ds, "DirectoryRecordSequence") or []
    files = []
    for record in records:
        parts = dc.get(record, "ReferencedFileID")
        if parts:
            parts = [parts] if isinstance(parts, str) else list(parts)
            candidate = path.parent.joinpath(*[str(p) for p in parts])
            if candidate.is_file():
                files.append(candidate)
    if not files:
        raise LoadError(path, "the DICOMDIR references no image files that exist beside it")
    return files


def _dicom_entry(path: Path, mr_groups: dict, unreadable: list[LoadError]) -> Entry | None:
    from app.data.readers.dicom_file import is_dicomdir, kind_of

    try:
        ds = dc.read_dataset(path, header_only=True)
    except LoadError as exc:  # a DICOM file whose header does not read: its series may lack it
        unreadable.append(exc)
        return None
    try:
        if is_dicomdir(ds) or dc.sop_class(ds).startswith(dc.SR_SOP_PREFIX) or dc.sop_class(ds) == dc.PDF_SOP:
            return None
        kind = kind_of(ds, path)
    except LoadError:  # not an image (a presentation state, a key object...): nothing to list
        return None
    try:
        frames, rows, cols, _, _ = dc.image_geometry(ds, path)
    except LoadError as exc:  # an image whose header does not read whole (a file cut short)
        unreadable.append(exc)
        return None
    if kind == "mr":
        mr_groups[str(dc.get(ds, "SeriesInstanceUID", "no-series-uid"))].append((path, ds))
        return None
    modality: Literal["echo", "mri"] = "echo" if kind == "us" else "mri"
    shape: tuple[int, ...] = (frames, rows, cols)
    if kind == "mr_enhanced":
        from app.data.readers.mr_sources import enhanced_layout

        try:
            n_slices, frames = enhanced_layout(ds, path, frames).shape_st
        except LoadError:
            return None
        shape = (n_slices, frames, rows, cols) if n_slices > 1 else (frames, rows, cols)
    description = str(dc.get(ds, "SeriesDescription", "")) or f"{dc.get(ds, 'Modality', '')} {path.name}".strip()
    info = SeriesInfo(key=str(path), description=description, modality=modality, n_frames=frames,
                      shape=shape, paths=(path,))
    return Entry(info, detect.DICOM)


def _mr_group_entry(uid: str, members: list) -> Entry:
    from app.data.readers.dicom_mr import normal_from

    first = members[0][1]
    positions = set()
    for _, ds in members:
        pos, normal = (
            dc.get_floats(ds, "ImagePositionPatient"),
            normal_from(dc.get_floats(ds, "ImageOrientationPatient")),
        )
        positions.add(round(float(np.dot(pos, normal)), 1) if pos and len(pos) == 3 and normal is not None else 0.0)
    n_slices = max(1, len(positions))
    n_phases = len(members) // n_slices
    rows, cols = int(dc.get(first, "Rows", 0)), int(dc.get(first, "Columns", 0))
    number = dc.get(first, "SeriesNumber")
    label = f"MR series {number}" if number is not None else "MR series"
    description = str(dc.get(first, "SeriesDescription", "")) or f"{label} ({len(members)} images)"
    shape = (n_slices, n_phases, rows, cols) if n_slices > 1 else (n_phases, rows, cols)
    paths = tuple(sorted((p for p, _ in members), key=lambda p: p.name))
    return Entry(SeriesInfo(key=uid, description=description, modality="mri", n_frames=n_phases,
                            shape=shape, paths=paths), "mr_files")


def _other_entry(path: Path, kind: str) -> Entry | None:
    from app.data.readers import nifti, video

    try:
        info = video.describe(path) if kind == detect.VIDEO else nifti.describe(path)
    except LoadError:
        return None
    return Entry(info, kind)


def scan(paths: list[Path], progress: Step | None = None, unreadable: list[LoadError] | None = None) -> list[Entry]:
    """Entries for the given files: MR images grouped into series, other recordings one each. The errors of DICOM
    files whose header does not read whole, and of empty files named like DICOM, are added to `unreadable`."""
    unreadable = [] if unreadable is None else unreadable
    entries: list[Entry] = []
    mr_groups: dict[str, list] = defaultdict(list)
    for index, path in enumerate(paths):
        report(progress, index / max(len(paths), 1), f"reading headers {index + 1}/{len(paths)}")
        try:
            kind = detect.sniff(path)
        except LoadError as exc:
            if _empty_dicom_name(path):  # an image file a transfer created but never wrote
                unreadable.append(exc)
            continue
        entry = _dicom_entry(path, mr_groups, unreadable) if kind == detect.DICOM else _other_entry(path, kind)
        if entry is not None:
            entries.append(entry)
    entries += [_mr_group_entry(uid, members) for uid, members in mr_groups.items()]
    return sorted(entries, key=lambda e: (e.info.modality, e.info.description, e.info.key))


def _empty_dicom_name(path: Path) -> bool:
    try:
        return path.suffix.lower() in ("", ".dcm") and path.stat().st_size == 0
    except OSError:
        return False


def scan_location(path: Path, progress: Step | None = None,
                  unreadable: list[LoadError] | None = None) -> list[Entry]:
    """Entries in a folder (or the DICOMDIR it holds) or a DICOMDIR file; LoadError when none."""
    files = _files_under(path) if path.is_dir() else dicomdir_files(path)
    entries = scan(files, progress, unreadable)
    if not entries:
        raise LoadError(path, f"no readable recordings found among {len(files)} files")
    return entries


def pick(entries: list[Entry], key: str | None, where: Path) -> Entry:
    """The entry with `key` (or the only one); LoadError listing the keys otherwise."""
    if key is not None:
        for entry in entries:
            if key in (entry.info.key, Path(entry.info.key).name):
                return entry
        raise LoadError(where, f"no series with key {key!r}; available: {_keys(entries)}")
    if len(entries) == 1:
        return entries[0]
    raise LoadError(where, f"{len(entries)} series here; choose one with a key: {_keys(entries)}")


def _keys(entries: list[Entry], shown: int = 8) -> str:
    text = "; ".join(f"{e.info.key} ({e.info.description}, {e.info.modality}, shape {list(e.info.shape)})"
                     for e in entries[:shown])
    return text + (f"; ... and {len(entries) - shown} more (see `info`)" if len(entries) > shown else "")


def unreadable_text(unreadable: list[LoadError]) -> str:
    """One clause naming the DICOM files of a folder that could not be read: the first with its reason."""
    first, more = unreadable[0], len(unreadable) - 1
    name = first.path.name if first.path is not None else "?"
    return (f"{len(unreadable)} DICOM file{'s' if more else ''} here could not be read and "
            f"{'are' if more else 'is'} left out ({name}: {first.reason}{f'; and {more} more' if more else ''})")
