"""Our results as DICOM in the patient's study: the Comprehensive SR (TID 1500), one Segmentation per
recording, the PDF report as Encapsulated PDF; new series (SR 901, SEG 902, PDF 903), same Study Instance
UID as the source recordings. Written to files or stored on a PACS node (C-STORE or STOW-RS, app.pacs)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.report.dicom_sources import DicomResultError, common_study_uid, source_images

SEG_SERIES_NUMBER = 902


@dataclass(frozen=True)
class DicomResults:
    sr: object
    segmentations: tuple
    pdf: object | None

    @property
    def datasets(self) -> list:
        return [self.sr, *self.segmentations] + ([self.pdf] if self.pdf is not None else [])


def build_results(analyses, study=None, report=None, anonymise: bool = False, comment: str = "",
                  page_size: str = "A4", with_pdf: bool = True) -> DicomResults:
    """DICOM results of one study's analyses (RecordingAnalysis list); `report` defaults to the one the PDF
    shows. DicomResultError (one line) when a recording was not read from DICOM or studies differ."""
    from pydicom.uid import generate_uid

    from app.report.build import report_from_analyses
    from app.report.dicom_pdf import build_encapsulated_pdf
    from app.report.dicom_seg import build_segmentation
    from app.report.dicom_sr import build_sr

    analyses = list(analyses)
    if not analyses:
        raise DicomResultError("no analysed recording to send")
    sources = [source_images(a.recording) for a in analyses]
    common_study_uid(sources)
    report = report or report_from_analyses(analyses, study=study, comment=comment, anonymise=anonymise)
    sr = build_sr(report, sources, generate_uid(), anonymise)
    seg_series = generate_uid()
    segmentations = []
    for i, (analysis, src, section) in enumerate(zip(analyses, sources, report.recordings)):
        seg = build_segmentation(analysis.labels, src, analysis.recording.modality, analysis.recording.spacing_mm,
                                 seg_series, SEG_SERIES_NUMBER, algorithm=section.segmenter,
                                 edited=bool(section.edited), anonymise=anonymise)
        seg.InstanceNumber = i + 1
        segmentations.append(seg)
    pdf = None
    if with_pdf:
        from app.report.pdf import write_pdf

        with tempfile.TemporaryDirectory() as tmp:
            path = write_pdf(report, Path(tmp) / "report.pdf", page_size)
            pdf = build_encapsulated_pdf(Path(path).read_bytes(), sources[0].first, generate_uid(), anonymise)
    return DicomResults(sr, tuple(segmentations), pdf)


def write_results(results: DicomResults, folder: str | Path) -> list[Path]:
    """Each object as `<modality>-<SOP Instance UID>.dcm` in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for ds in results.datasets:
        path = folder / f"{str(ds.Modality).lower()}-{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def send_results(results: DicomResults, node) -> int:
    """Store every object on `node` (DimseNode: C-STORE, DicomWebNode: STOW-RS); PacsError when refused."""
    from app.pacs import retrieve

    return retrieve.store(node, results.datasets)
