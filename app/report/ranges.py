"""Reference ranges for the report's measurement table, and the out-of-range flag.

The numbers come from the viewer's table, app/workflow/reference_ranges.py (ASE/EACVI 2015, Lang et
al.; sex-specific, the union of both sexes when the sex is unknown) and its rule for cine MRI (echo ranges
of volumes, EF and strain not applied: ECHO_ONLY), so the report and the measurement panel always agree.
Values without a range (SV, segmental strain, mass) get none.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.workflow.reference_ranges import reference_range as _table_range


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None
    source: str = ""

    def text(self, unit: str) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g} {unit}".strip()
        if self.low is not None:
            return f">= {self.low:g} {unit}".strip()
        if self.high is not None:
            return f"<= {self.high:g} {unit}".strip()
        return ""

    def flag(self, value: float | None) -> str:
        if value is None:
            return ""
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "high"
        return ""


def reference_range(key: str, sex: str = "", modality: str = "echo") -> Range | None:
    """The normal range of a value for the patient's sex ('M'/'F'/''), or None when there is none."""
    found = _table_range(key, sex or "", modality)
    if found is None or (found.low is None and found.high is None):
        return None
    return Range(found.low, found.high, found.source)
