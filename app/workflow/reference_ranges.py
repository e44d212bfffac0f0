"""Normal ranges of the measurements shown in the viewer and report.

Source: Lang RM et al., "Recommendations for cardiac chamber quantification by echocardiography in
adults: an update from the ASE and the EACVI", J Am Soc Echocardiogr 2015;28:1-39 (Table 1: 2D
biplane LV volumes and EF, mean +- 2 SD) and its strain statement (GLS around -20 % in health; values
less negative than about -18 % are abnormal; vendor dependent). Heart rate: the usual adult resting
range. When the patient's sex is unknown the union of the male and female ranges is used, so only
values abnormal for both are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

ASE_2015 = "ASE/EACVI 2015"


@dataclass(frozen=True)
class ReferenceRange:
    name: str  # measurement name as in Measurements (edv_ml, ef_pct, ...)
    low: float | None
    high: float | None
    unit: str
    sex: str  # "M", "F" or "" (either)
    source: str

    def flag(self, value: float | None, decimals: int | None = None) -> str:
        """'low', 'high', or '' when the value is missing or within the range. With `decimals` the value
        is judged as it is shown (61.4 ml shown as "61 ml" is not "high" against 14-61)."""
        if value is None:
            return ""
        if decimals is not None:
            value = float(f"{value:.{decimals}f}")
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "high"
        return ""

    def label(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g} {self.unit}"
        if self.low is not None:
            return f">= {self.low:g} {self.unit}"
        return f"<= {self.high:g} {self.unit}"


_TABLE = {
    # name: (male low, male high, female low, female high, unit, source)
    "ef_pct": (52, 72, 54, 74, "%", ASE_2015),
    "edv_ml": (62, 150, 46, 106, "ml", ASE_2015),
    "esv_ml": (21, 61, 14, 42, "ml", ASE_2015),
    "edv_index_ml_m2": (34, 74, 29, 61, "ml/m2", ASE_2015),
    "esv_index_ml_m2": (11, 31, 8, 24, "ml/m2", ASE_2015),
    "gls_pct": (None, -18, None, -18, "%", ASE_2015 + " strain"),
    "heart_rate_bpm": (60, 100, 60, 100, "bpm", "adult resting"),
}


def _union(a: float | None, b: float | None, pick) -> float | None:
    return None if a is None or b is None else pick(a, b)


# Not applied to cine MRI: CMR slice-summation volumes run larger and its normal EF is higher (the echo
# lower limits 52/54 % would call a mildly reduced CMR EF normal); no CMR table is bundled yet, so those
# values show without a reference rather than with a wrong one.
ECHO_ONLY = ("edv_ml", "esv_ml", "ef_pct", "edv_index_ml_m2", "esv_index_ml_m2", "gls_pct")


def reference_range(name: str, sex: str = "", modality: str = "echo") -> ReferenceRange | None:
    """The normal range of `name` for sex 'M' / 'F' (anything else: the union of both).

    The volume, EF and strain ranges are echocardiographic: for modality 'mri' they are not given
    (ECHO_ONLY); heart rate is.
    """
    row = _TABLE.get(name)
    if row is None or (modality == "mri" and name in ECHO_ONLY):
        return None
    m_lo, m_hi, f_lo, f_hi, unit, source = row
    sex = (sex or "").upper()[:1]
    if sex == "M":
        return ReferenceRange(name, m_lo, m_hi, unit, "M", source)
    if sex == "F":
        return ReferenceRange(name, f_lo, f_hi, unit, "F", source)
    return ReferenceRange(name, _union(m_lo, f_lo, min), _union(m_hi, f_hi, max), unit, "", source)


def classify(name: str, value: float | None, sex: str = "", modality: str = "echo",
             decimals: int | None = None) -> str:
    """'normal', 'low', 'high' or '' when there is no value or no range (judged as shown with `decimals`)."""
    rng = reference_range(name, sex, modality)
    if rng is None or value is None:
        return ""
    return rng.flag(value, decimals) or "normal"
