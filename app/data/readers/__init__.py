"""Readers: any supported file or folder -> `Recording`, chosen by content, never by extension.

    load_recording(path, series_key=None, echo=False) -> Recording
    list_series(path) -> list[SeriesInfo]
    read_summary(path, series_key=None) -> RecordingSummary: Recording.summary() without decoding every frame, and
        why the load refuses a file too large for this machine (summary_only.py)

Supported: DICOM ultrasound (multi/single-frame, any colour model, RLE/JPEG/JPEG-LS/JPEG 2000),
DICOM MR (folders of single-frame cine images, Enhanced MR multi-frame), DICOMDIR, NIfTI, MetaImage,
AVI/MP4 video. Every failure is a `LoadError` naming the file and the problem; anything unexpected
from a third-party library is wrapped at this boundary so callers never see another exception type.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.data.errors import LoadError
from app.data.readers.plausible import checked_header
from app.data.readers.progress import LoadCancelled, Step, report, reporter, scaled
from app.data.readers.summary_only import RecordingSummary
from app.data.recording import Recording, SeriesInfo
from app.tasks import Cancel, ProgressFn

__all__ = ["LoadCancelled", "LoadError", "RecordingSummary", "list_series", "load_recording", "read_summary"]


def _guard(path: Path, func, *args):
    try:
        return func(*args)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(path, "not enough memory to load this recording") from None
    except RecursionError:
        raise LoadError(path, "the file structure is corrupt (nested too deeply)") from None
    except Exception as exc:  # noqa: BLE001 - last line of defence: a corrupt file must never crash the caller
        text = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise LoadError(path, f"the file could not be read ({type(exc).__name__}: {text})") from None


def _is_dicomdir_file(path: Path) -> bool:
    from app.data.readers import dicom_common as dc
    from app.data.readers.dicom_file import is_dicomdir

    return is_dicomdir(dc.read_dataset(path, header_only=True))


def _load_file(path: Path, kind: str, echo: bool = False, summary_only: bool = False) -> Recording:
    from app.data.readers import detect

    if kind == detect.DICOM:
        from app.data.readers.dicom_file import read_dicom_file

        return read_dicom_file(path, summary_only)
    if kind in (detect.NIFTI, detect.METAIMAGE):
        from app.data.readers.nifti import read_image_file

        return read_image_file(path, echo=echo, summary_only=summary_only)
    from app.data.readers.video import read_video

    return read_video(path, summary_only)


def _load_entry(entry, progress: Step | None, echo: bool = False, summary_only: bool = False) -> Recording:
    from app.data.readers.mr_sources import read_mr_files

    if entry.kind == "mr_files":
        return read_mr_files(list(entry.info.paths), Path(entry.info.paths[0]).parent, progress)
    report(progress, 0.0, "decoding")
    return _load_file(Path(entry.info.key), entry.kind, echo, summary_only)


def _load(path: Path, series_key: str | None, progress: Step | None, echo: bool,
          summary_only: bool = False) -> Recording:
    """The recording, or with summary_only one whose frames stand in for the pixels (summary_only.py)."""
    from app.data.readers import detect, series

    kind = detect.sniff(path)
    if kind == detect.FOLDER or (kind == detect.DICOM and _is_dicomdir_file(path)):
        unreadable: list[LoadError] = []
        entries = series.scan_location(path, scaled(progress, 0.0, 0.3), unreadable)
        entry = series.pick(entries, series_key, path)
        # files of a stack missing: the stack says so, in its error or as a note
        missing = series.unreadable_text(unreadable) if entry.kind == "mr_files" and unreadable else ""
        try:
            recording = _load_entry(entry, scaled(progress, 0.3, 1.0), echo, summary_only)
        except LoadError as exc:
            if not missing:
                raise
            raise LoadError(exc.path, f"{exc.reason}; {missing}") from None
        return dataclasses.replace(recording, reader_notes=(*recording.reader_notes, missing)) if missing else recording
    if series_key is not None:  # a key that is not this file's is a mistake, not something to ignore
        series.pick(series.scan([path]), series_key, path)
    report(progress, 0.0, "decoding")
    recording = _load_file(path, kind, echo, summary_only)
    report(progress, 1.0, "done")
    return recording


def _list(path: Path, progress: Step | None) -> list[SeriesInfo]:
    from app.data.readers import detect, series

    kind = detect.sniff(path)
    if kind == detect.FOLDER or (kind == detect.DICOM and _is_dicomdir_file(path)):
        return [entry.info for entry in series.scan_location(path, progress)]
    entries = series.scan([path])
    if not entries:  # not listable from the header: load it fully to get the real error
        _load_file(path, kind)
    return [entry.info for entry in entries] or []


def load_recording(path: str | Path, series_key: str | None = None, progress: ProgressFn | None = None,
                   echo: bool = False, cancel: Cancel = None) -> Recording:
    """The recording in `path` (file, folder or DICOMDIR); `series_key` picks one of several series.

    `progress(app.tasks.Progress)` is called as files are read; `cancel` (app.tasks) stops the read at the
    next file with LoadCancelled.
    echo: the user says it is an echo recording (e.g. `analyze --view a4c`): a 3D NIfTI/MetaImage is then
    a 2D+t clip whatever its name and voxel type (otherwise a float 3D file is read as MR slices).
    """
    path = Path(path)
    return _one_slice_as_cine(checked_header(_guard(path, _load, path, series_key, reporter(path, progress, cancel),
                                                    echo)))


def read_summary(path: str | Path, series_key: str | None = None) -> RecordingSummary:
    """Recording.summary() of the recording load_recording(path, series_key) gives, and its errors, read from the
    header and a sample of the frames, not every frame decoded (summary_only.py): `info` on a long, large clip. A file
    too large to load on this machine is summarized all the same where a sample is all the summary holds, with the
    reason the load refuses it (RecordingSummary.too_large_to_load)."""
    from app.data.readers import limits

    path = Path(path)
    with limits.refusals_deferred() as refused:
        recording = _guard(path, lambda: _load(path, series_key, None, echo=False, summary_only=True))
    fields = _one_slice_as_cine(checked_header(recording)).summary()
    return RecordingSummary(fields, refused[0].reason if refused else None)


def _one_slice_as_cine(recording: Recording) -> Recording:
    """A "stack" of one slice (a 4D NIfTI with one slice) as the single cine slice it is, as a DICOM series of one
    slice is read: its measure is the fractional area change, never a slice-summation EF of one slab."""
    if not recording.is_stack or recording.n_slices != 1:
        return recording
    rgb = None if recording.display_rgb is None else recording.display_rgb[0]
    return dataclasses.replace(recording, frames=recording.frames[0], slice_spacing_mm=None, display_rgb=rgb)


def list_series(path: str | Path, progress: ProgressFn | None = None, cancel: Cancel = None) -> list[SeriesInfo]:
    """The recordings a file, folder or DICOMDIR holds, without decoding pixels."""
    path = Path(path)
    return _guard(path, _list, path, reporter(path, progress, cancel))
