"""One patient per study: does a recording belong to the patient (and exam) of a study?

`compare(study_patient, new_patient)` answers SAME, DIFFERENT or UNKNOWN from the identifying fields
of two PatientInfo: patient ID, name, birth date and Study Instance UID. Any field both have and that
differs makes them DIFFERENT (another patient, or another exam of the patient: a separate study). SAME
needs an identifier both have and that is equal, with no conflict: the patient ID, the Study Instance UID,
or the name *and* the birth date (a name alone is shared by strangers, a birth date by thousands).
Anything less (an anonymous file, a video without a header, a name on one side only) is UNKNOWN: the
viewer asks the user, and `analyze` refuses unless told `--same-patient`. `study_identity` merges the
fields of the recordings already in a study; `describe` names a patient in one short phrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.data.recording import PatientInfo

SAME, DIFFERENT, UNKNOWN = "same", "different", "unknown"
ANONYMOUS_NAMES = frozenset({"", "ANONYMOUS", "ANON", "UNKNOWN", "NONE", "NO NAME"})


@dataclass(frozen=True)
class Identity:
    """The normalised identifying fields of a patient ('' when the file has none)."""

    patient_id: str = ""
    name: str = ""
    birth_date: str = ""
    study_uid: str = ""

    @property
    def known(self) -> bool:
        return any((self.patient_id, self.name, self.birth_date, self.study_uid))

    def fields(self) -> dict[str, str]:
        return {"patient ID": self.patient_id, "name": self.name, "birth date": self.birth_date,
                "Study Instance UID": self.study_uid}


def identity(patient: PatientInfo) -> Identity:
    name = re.sub(r"\s+", " ", patient.name.replace("^", " ")).strip().upper()
    birth = patient.birth_date.strip()
    patient_id = patient.patient_id.strip()
    return Identity(
        patient_id="" if patient_id.upper() in ANONYMOUS_NAMES else patient_id,
        name="" if name in ANONYMOUS_NAMES else name,
        birth_date=birth if re.fullmatch(r"\d{8}", birth) and birth != "00000000" else "",
        study_uid=patient.study_uid.strip(),
    )


def study_identity(patients: Iterable[PatientInfo]) -> Identity:
    """The identity of a study from its recordings' PatientInfo (first non-empty value of each field)."""
    merged: dict[str, str] = {}
    for ident in map(identity, patients):
        for key, value in vars(ident).items():
            if value and not merged.get(key):
                merged[key] = value
    return Identity(**merged)


def compare(study: Identity, new: Identity) -> tuple[str, str]:
    """(SAME | DIFFERENT | UNKNOWN, the field that decided it)."""
    equal = []
    for label, value in study.fields().items():
        other = new.fields()[label]
        if value and other:
            if value != other:
                return DIFFERENT, label
            equal.append(label)
    for label in ("patient ID", "Study Instance UID"):
        if label in equal:
            return SAME, label
    if "name" in equal and "birth date" in equal:
        return SAME, "name and birth date"
    return UNKNOWN, ""


def describe(patient: PatientInfo, fallback: str = "") -> str:
    """'DOE JOHN (ID 123)', 'ID 123', or the fallback (e.g. the file name) for an anonymous recording."""
    ident = identity(patient)
    id_text = f"ID {ident.patient_id}" if ident.patient_id else ""
    if ident.name:
        return f"{ident.name} ({id_text})" if id_text else ident.name
    return id_text or fallback or "an anonymous recording"
