"""Measurements indexed to body surface area (ml/m^2, g/m^2) when the patient's height and weight are known.

Height and weight come from the file (DICOM PatientSize, PatientWeight) or are typed in (`analyze
--height-cm --weight-kg`, the viewer's patient fields) into Recording.patient. BSA by Mosteller
(app.analysis.body_size). The names are those of Measurements with `_index_` before the unit; the
reference ranges (app.workflow.reference_ranges) use the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.analysis.body_size import bsa_mosteller_m2, indexed

# (indexed name, Measurements attribute, unit)
INDEXED = (
    ("edv_index_ml_m2", "edv_ml", "ml/m²"),
    ("esv_index_ml_m2", "esv_ml", "ml/m²"),
    ("sv_index_ml_m2", "sv_ml", "ml/m²"),
    ("lv_mass_index_g_m2", "lv_mass_g", "g/m²"),
    ("rv_edv_index_ml_m2", "rv_edv_ml", "ml/m²"),
    ("rv_esv_index_ml_m2", "rv_esv_ml", "ml/m²"),
    ("rv_sv_index_ml_m2", "rv_sv_ml", "ml/m²"),
)


@dataclass(frozen=True)
class IndexedValues:
    """BSA and each indexed value (None where the measurement or the body size is missing)."""

    height_cm: float | None
    weight_kg: float | None
    bsa_m2: float | None
    values: tuple[tuple[str, float | None], ...]

    def get(self, name: str) -> float | None:
        return dict(self.values).get(name)


def body_surface_area_m2(patient: object) -> float | None:
    """Mosteller BSA of a PatientInfo, or None when height or weight is unknown or implausible."""
    h, w = getattr(patient, "height_cm", None), getattr(patient, "weight_kg", None)
    if h is None or w is None:
        return None
    try:
        return bsa_mosteller_m2(h, w)
    except ValueError:
        return None


def indexed_values(measurements: object, patient: object) -> IndexedValues:
    """The indexed values of one Measurements for the patient (all None without a BSA)."""
    bsa = body_surface_area_m2(patient)
    values = tuple((name, indexed(getattr(measurements, attr, None), bsa)) for name, attr, _ in INDEXED)
    return IndexedValues(getattr(patient, "height_cm", None), getattr(patient, "weight_kg", None), bsa, values)


def indexed_json(measurements: object, patient: object) -> dict[str, Any]:
    """JSON fields: height_cm, weight_kg, bsa_m2 and every indexed value (null when unknown)."""
    iv = indexed_values(measurements, patient)

    def r(v: float | None, nd: int = 2) -> float | None:
        return None if v is None else round(float(v), nd)

    return {"height_cm": r(iv.height_cm, 1), "weight_kg": r(iv.weight_kg, 1), "bsa_m2": r(iv.bsa_m2, 3),
            **{name: r(v) for name, v in iv.values}}
