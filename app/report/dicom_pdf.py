"""The PDF report as a DICOM Encapsulated PDF (modality DOC) in the source study, a new series.
highdicom has no Encapsulated PDF class, so the IOD is filled with pydicom; dciodvfy checks it in the tests."""

from __future__ import annotations

from pathlib import Path

from app.report.dicom_seg import new_dataset

PDF_SOP = "1.2.840.10008.5.1.4.1.1.104.1"
PDF_SERIES_NUMBER = 903


def build_encapsulated_pdf(pdf: bytes | Path, source, series_uid: str, anonymise: bool = False,
                           title: str = "CardioTrace report", description: str = "CardioTrace PDF"):
    """Encapsulated PDF dataset of `pdf` (bytes or a file) with patient and study from `source`."""
    data = Path(pdf).read_bytes() if isinstance(pdf, (str, Path)) else bytes(pdf)
    if not data.startswith(b"%PDF"):
        raise ValueError("not a PDF document")
    ds = new_dataset(PDF_SOP, source, series_uid, PDF_SERIES_NUMBER, "DOC", anonymise)
    ds.SeriesDescription = description
    ds.ConversionType = "WSD"
    ds.AcquisitionDateTime = f"{ds.ContentDate}{ds.ContentTime}"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = title
    ds.ConceptNameCodeSequence = []  # type 2: no standard document title code for an echo/MR measurement report
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(data)
    ds.EncapsulatedDocument = data + (b"\0" if len(data) % 2 else b"")
    return ds


def pdf_bytes(ds) -> bytes:
    """Read back: the PDF document of an Encapsulated PDF dataset (without the padding byte)."""
    data = bytes(ds.EncapsulatedDocument)
    return data[: int(ds.get("EncapsulatedDocumentLength", len(data)))]
