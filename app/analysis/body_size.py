"""Body surface area and values indexed to it.

Mosteller RD, "Simplified calculation of body-surface area", N Engl J Med 1987;317:1098:
BSA (m^2) = sqrt(height (cm) x weight (kg) / 3600), the formula CMR and echo reference tables index by.
"""

from __future__ import annotations

import math

from app.data.recording import HEIGHT_RANGE_CM, WEIGHT_RANGE_KG


def bsa_mosteller_m2(height_cm: float, weight_kg: float) -> float:
    """Body surface area in m^2 (Mosteller); ValueError outside the plausible ranges."""
    check_body_size(height_cm, weight_kg)
    return math.sqrt(height_cm * weight_kg / 3600.0)


def check_body_size(height_cm: float, weight_kg: float) -> None:
    """ValueError with one readable line when height or weight is not plausible."""
    for name, value, (low, high), unit in (("height", height_cm, HEIGHT_RANGE_CM, "cm"),
                                           ("weight", weight_kg, WEIGHT_RANGE_KG, "kg")):
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{name} must be between {low:g} and {high:g} {unit}, got {value}")


def indexed(value: float | None, bsa_m2: float | None) -> float | None:
    """value / BSA, or None when either is unknown."""
    return None if value is None or not bsa_m2 else float(value) / bsa_m2
