"""Our results as DICOM in the patient's study: the Comprehensive SR (TID 1500), one Segmentation per
recording, the PDF report as Encapsulated PDF; new series (SR 901, SEG 902, PDF 903), same Study Instance
UID as the source recordings. Written to files or stored on a PACS node (C-STORE or STOW-RS, app.pacs).

Each series says when it was made, whether the report was signed (SR: FINAL and VERIFIED) or is preliminary,
and whether it amends results sent before (app.workflow.sent_results): two sends of one day, even of one minute,
are told apart."""

from __future__ import annotations

import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.report.dicom_sources import DicomResultError, common_study_uid, source_images

if TYPE_CHECKING:  # pydicom is imported where it is used
    from pydicom.dataset import Dataset

SEG_SERIES_NUMBER = 902


@dataclass(frozen=True)
class DicomResults:
    sr: Dataset
    segmentations: tuple[Dataset, ...]
    pdf: Dataset | None
    made: str = ""  # the report's "YYYY-MM-DD HH:MM:SS"
    signed_by: str = ""  # its reviewer ("": preliminary)

    @property
    def datasets(self) -> list:
        return [self.sr, *self.segmentations] + ([self.pdf] if self.pdf is not None else [])

    def record(self):
        """The SentResults to remember once these are stored (the next send amends them)."""
        from app.workflow.sent_results import SentResults

        sr = self.sr
        return SentResults(str(sr.StudyInstanceUID), str(sr.SeriesInstanceUID), str(sr.SOPClassUID),
                           str(sr.SOPInstanceUID), self.made, self.signed_by)


@contextmanager
def source_values_as_stored():
    """The results copy the source's UIDs and names as the archive stores them (a PACS finds the study by
    them): pydicom's and highdicom's complaints about a source's malformed UI or one-part person name are no
    news to the user, and stay off stderr."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Invalid value for VR UI")
        warnings.filterwarnings("ignore", message=r"The string .* is unlikely to represent the intended person name")
        yield


def build_results(analyses, study=None, report=None, anonymise: bool = False, comment: str = "",
                  page_size: str = "A4", with_pdf: bool = True, amends=None) -> DicomResults:
    """DICOM results of one study's analyses (RecordingAnalysis list). `report`: the ReportData the user
    signed (the viewer's study_report, the CLI's one report), else composed here; `amends`: the SentResults
    these replace. DicomResultError (one line) when a recording was not read from DICOM or studies differ."""
    with source_values_as_stored():
        return _build(list(analyses), study, report, anonymise, comment, page_size, with_pdf, amends)


def _build(analyses, study, report, anonymise, comment, page_size, with_pdf, amends) -> DicomResults:
    from pydicom.uid import generate_uid

    from app.report.build import report_from_analyses
    from app.report.dicom_pdf import build_encapsulated_pdf
    from app.report.dicom_seg import build_segmentation
    from app.report.dicom_sr import build_sr, series_description

    if not analyses:
        raise DicomResultError("no analyzed recording to send")
    sources = [source_images(a.recording) for a in analyses]
    common_study_uid(sources)
    report = report or report_from_analyses(analyses, study=study, comment=comment, anonymise=anonymise)
    if amends is not None:
        report = replace(report, amends=amends.made)
    sr = build_sr(report, sources, generate_uid(), anonymise, amends)
    seg_series = generate_uid()
    segmentations = []
    for i, (analysis, src, section) in enumerate(zip(analyses, sources, report.recordings, strict=False)):
        seg = build_segmentation(analysis.labels, src, analysis.recording.modality, analysis.recording.spacing_mm,
                                 seg_series, SEG_SERIES_NUMBER, algorithm=section.segmenter,
                                 edited=bool(section.edited), anonymise=anonymise)
        seg.InstanceNumber = i + 1
        seg.SeriesDescription = series_description("SEG", report)
        segmentations.append(seg)
    pdf = None
    if with_pdf:
        from app.report.pdf import write_pdf

        with tempfile.TemporaryDirectory() as tmp:
            path = write_pdf(report, Path(tmp) / "report.pdf", page_size)
            pdf = build_encapsulated_pdf(Path(path).read_bytes(), sources[0].first, generate_uid(), anonymise,
                                         title=report.title, description=series_description("PDF", report))
    results = DicomResults(sr, tuple(segmentations), pdf, report.made, report.reviewer.strip())
    for ds in results.datasets:
        _patient_sex_as_reported(ds, report.patient.sex)
    return results


def _patient_sex_as_reported(ds, sex: str) -> None:
    """PatientSex of the sex the report's ranges used, typed in (analyze --sex, the viewer) or from the file: the
    results copy the source's patient module, which an anonymised source or a typed sex would contradict."""
    if sex:
        ds.PatientSex = sex


def write_results(results: DicomResults, folder: str | Path) -> list[Path]:
    """Each object as `<modality>-<SOP Instance UID>.dcm` in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for ds in results.datasets:
        path = folder / f"{str(ds.Modality).lower()}-{ds.SOPInstanceUID}.dcm"
        with source_values_as_stored():
            ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def send_results(results: DicomResults, node) -> int:
    """Store every object on `node` (DimseNode: C-STORE, DicomWebNode: STOW-RS); PacsError when refused."""
    from app.pacs import retrieve

    with source_values_as_stored():
        return retrieve.store(node, results.datasets)
