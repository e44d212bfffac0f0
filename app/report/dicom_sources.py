"""The DICOM instances a recording came from, frame by frame, for results that reference them (SR, SEG).

`source_images(recording)` -> SourceImages: the header-only datasets and, for every (slice, phase) of the
recording, which dataset and which frame (1-based, None for a single-frame instance) it was read from.
Echo: one multi-frame instance. Enhanced MR: one instance, frames by its functional groups. A folder of
single-frame MR images: the instances arranged as the reader arranges them (app.data.readers.dicom_mr).
Not DICOM (NIfTI, video, phantom in memory) -> DicomResultError, one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.data.errors import LoadError
from app.data.recording import Recording

STUDY_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                  "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription")


class DicomResultError(ValueError):
    """Results cannot be written as DICOM (no DICOM source, several studies): one line for the user."""


@dataclass(frozen=True)
class SourceImages:
    datasets: tuple  # header-only pydicom datasets
    refs: tuple  # [slice][phase] -> (index into datasets, frame number or None)

    @property
    def first(self):
        return self.datasets[0]

    def ref(self, slice_index: int, phase: int) -> tuple[int, int | None]:
        return self.refs[slice_index][phase]


# Dates and times results copy from their source (highdicom parses them): anonymised and research data often hold
# placeholders no calendar has (a birth date 00000000, a study date 20120000).
_DATE_TIME_KEYWORDS = {"PatientBirthDate": "DA", "StudyDate": "DA", "SeriesDate": "DA", "ContentDate": "DA",
                       "AcquisitionDate": "DA", "StudyTime": "TM", "SeriesTime": "TM", "ContentTime": "TM"}


def _read(path: Path):
    from app.data.readers import dicom_common as dc

    return _without_invalid_dates(dc.read_dataset(path, header_only=True))


def _without_invalid_dates(ds):
    """The header with each date or time no calendar has emptied (type 2 elements: empty means unknown), so the
    results' copy of the patient and study never fails on the source's placeholder."""
    from pydicom.valuerep import DA, TM

    for keyword, vr in _DATE_TIME_KEYWORDS.items():
        value = str(ds.get(keyword, "") or "").strip()
        if not value:
            continue
        try:
            (DA if vr == "DA" else TM)(value)
        except ValueError:
            setattr(ds, keyword, "")
    return ds


def source_images(recording: Recording) -> SourceImages:
    path = recording.source_path
    if path is None or not Path(path).exists():
        raise DicomResultError("DICOM results need a recording read from DICOM files (this one has no source file)")
    path = Path(path)
    try:
        if path.is_dir():
            return _from_folder(path, recording)
        return _from_file(path, recording)
    except LoadError as exc:
        raise DicomResultError(f"cannot reference the source images: {exc}") from None


def _check(recording: Recording, n_slices: int, n_phases: int, where: Path) -> None:
    if (n_slices, n_phases) != (recording.n_slices, recording.n_frames):
        raise DicomResultError(f"{where}: the DICOM source holds {n_slices} x {n_phases} images, "
                               f"the recording {recording.n_slices} x {recording.n_frames}")


def _from_file(path: Path, recording: Recording) -> SourceImages:
    from app.data.readers import dicom_common as dc
    from app.data.readers.dicom_file import kind_of

    ds = _read(path)
    if "SOPInstanceUID" not in ds:
        raise DicomResultError(f"{path}: not a DICOM image with a SOP Instance UID (DICOM results need one)")
    kind = kind_of(ds, path)
    n = int(dc.get(ds, "NumberOfFrames", 1) or 1)
    if kind == "mr_enhanced":
        from app.data.readers.mr_sources import enhanced_layout

        layout = enhanced_layout(ds, path, n)
        refs = tuple(tuple((0, im.ref + 1) for im in row) for row in layout.grid)
    elif kind == "mr":
        refs = ((((0, None),),))
    else:
        refs = (tuple((0, t + 1 if n > 1 else None) for t in range(n)),)
    _check(recording, len(refs), len(refs[0]), path)
    return SourceImages((ds,), refs)


def _from_folder(folder: Path, recording: Recording) -> SourceImages:
    from app.data.readers.dicom_mr import assemble
    from app.data.readers.mr_sources import image_facts

    by_series: dict[str, list] = {}
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            ds = _read(f)
        except LoadError:
            continue
        if "SOPInstanceUID" in ds and str(ds.get("Modality", "")) == "MR":
            by_series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    wanted = recording.n_slices * recording.n_frames
    matches = [dss for dss in by_series.values() if len(dss) == wanted]
    if len(matches) != 1:
        raise DicomResultError(f"{folder}: cannot tell which DICOM series this recording was read from")
    datasets = matches[0]
    grid, _ = assemble([image_facts(ds, i, i) for i, ds in enumerate(datasets)], folder)
    refs = tuple(tuple((im.ref, None) for im in row) for row in grid)
    _check(recording, len(refs), len(refs[0]), folder)
    return SourceImages(tuple(datasets), refs)


def study_attributes(ds, anonymise: bool = False) -> dict:
    """The patient and study elements results copy from their source (identifiers blanked if anonymised)."""
    values = {k: ds.get(k, "") for k in STUDY_KEYWORDS}
    if anonymise:
        values.update(PatientName="Anonymous", PatientID="ANONYMOUS", PatientBirthDate="", AccessionNumber="")
    return values


def common_study_uid(sources: list[SourceImages]) -> str:
    uids = {str(s.first.get("StudyInstanceUID", "")) for s in sources}
    if len(uids) != 1 or "" in uids:
        raise DicomResultError("the recordings belong to different studies (or none): results go to one study")
    return uids.pop()
