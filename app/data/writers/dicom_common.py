"""Fields every phantom DICOM file shares: patient, study, series, equipment."""

from __future__ import annotations

import datetime as _dt
import hashlib

from pydicom.dataset import Dataset

from app.data.recording import Recording


def stable_uid(*parts: str) -> str:
    """A UID derived from text, so the same recording written twice gets the same study/series UIDs."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"2.25.{int(digest[:32], 16)}"  # UUID-derived form (ISO/IEC 9834-8), from 128 hash bits


def fill_patient_study(ds: Dataset, recording: Recording, series_uid: str | None = None) -> None:
    """Patient, study, series and equipment attributes from the recording."""
    p = recording.patient
    today = _dt.date.today().strftime("%Y%m%d")
    ds.PatientName = p.name or "Anonymous"
    ds.PatientID = p.patient_id or "UNKNOWN"
    ds.PatientBirthDate = p.birth_date
    ds.PatientSex = p.sex
    if p.height_cm:
        ds.PatientSize = f"{p.height_cm / 100.0:.3f}"
    if p.weight_kg:
        ds.PatientWeight = f"{p.weight_kg:.1f}"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = p.study_date or today
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = p.manufacturer or "CardioTrace"
    ds.InstitutionName = p.institution
    key = f"{p.patient_id}|{recording.series_description}|{recording.frames.shape}"
    ds.StudyInstanceUID = p.study_uid or stable_uid("study", p.patient_id, p.name)
    ds.SeriesInstanceUID = series_uid or stable_uid("series", key)
    ds.SeriesDescription = recording.series_description or f"{recording.modality} {recording.view}"
    ds.ImageType = ["DERIVED", "PRIMARY"]
