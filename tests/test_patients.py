"""One patient per study (issue 35 fault 1): the identity rule and `analyze` refusing two patients."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.data.recording import PatientInfo
from app.workflow.patients import DIFFERENT, SAME, UNKNOWN, compare, describe, identity, study_identity

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
DOE = PatientInfo(name="Doe^John", patient_id="123", birth_date="19600102", study_uid="1.2.3")


@pytest.mark.parametrize("other,verdict,field", [
    (PatientInfo(name="DOE^JOHN^^", patient_id="123", birth_date="19600102", study_uid="1.2.3"), SAME, "patient ID"),
    (PatientInfo(name="Doe^John", patient_id="124", study_uid="1.2.3"), DIFFERENT, "patient ID"),
    (PatientInfo(name="Roe^Jane", birth_date="19600102"), DIFFERENT, "name"),
    (PatientInfo(name="Doe^John", birth_date="19610102"), DIFFERENT, "birth date"),
    (PatientInfo(patient_id="123", study_uid="9.9"), DIFFERENT, "Study Instance UID"),
    (PatientInfo(study_uid="1.2.3"), SAME, "Study Instance UID"),
    (PatientInfo(), UNKNOWN, ""),
    (PatientInfo(name="Doe^John"), UNKNOWN, ""),  # a name alone is shared by strangers
    (PatientInfo(birth_date="19600102"), UNKNOWN, ""),
    (PatientInfo(name="Doe^John", birth_date="19600102"), SAME, "name and birth date"),
    (PatientInfo(name="Anonymous", birth_date="00000000"), UNKNOWN, ""),
])
def test_compare_patients(other, verdict, field):
    assert compare(identity(DOE), identity(other)) == (verdict, field)


def test_study_identity_merges_the_fields_of_its_recordings():
    merged = study_identity([PatientInfo(patient_id="123"), PatientInfo(name="Doe^John", patient_id="123")])
    assert merged.patient_id == "123" and merged.name == "DOE JOHN"
    assert compare(merged, identity(PatientInfo(name="Roe^Jane")))[0] == DIFFERENT
    assert not study_identity([PatientInfo(name="Anonymous")]).known


def test_describe_names_a_patient_in_a_few_words():
    assert describe(DOE) == "DOE JOHN (ID 123)"
    assert describe(PatientInfo(patient_id="7")) == "ID 7"
    assert describe(PatientInfo(), "clip.avi") == "clip.avi"


def test_analyze_refuses_two_patients_as_one_study(capsys):
    """The demo echo (Phantom Echo) and the demo MRI (Phantom MRI, another exam): exit 2, one line naming both,
    before any analysis runs."""
    from app.cli import main

    a4c, sax = DEMO / "a4c.dcm", DEMO / "sax"
    assert main(["analyze", str(a4c), str(sax), "--json", "-"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "PHANTOM ECHO" in err and "PHANTOM MRI" in err and "a4c.dcm" in err and "sax" in err


def test_two_views_of_one_exam_are_one_study():
    from app.commands.analyze_study import check_one_patient
    from app.data.readers import load_recording

    paths = [DEMO / "a4c.dcm", DEMO / "a2c.dcm"]
    check_one_patient(paths, [load_recording(p) for p in paths])  # no error
