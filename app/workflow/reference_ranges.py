"""Normal ranges of the measurements shown in the viewer and report.

Source: Lang RM et al., "Recommendations for cardiac chamber quantification by echocardiography in
adults: an update from the ASE and the EACVI", J Am Soc Echocardiogr 2015;28:1-39 (Table 1: 2D
biplane LV volumes and EF, mean +- 2 SD) and its strain statement (GLS around -20 % in health; values
less negative than about -18 % are abnormal; vendor dependent). Heart rate: the usual adult resting
range. When the patient's sex is unknown the union of the male and female ranges is used, so only
values abnormal for both are flagged.

Cine MRI (short-axis slice summation) has its own table, _CMR_TABLE, for adults by SSFP, mean +- 2 SD, sex-specific:
- the LV values (absolute and indexed volumes, SV, EF, mass and mass index) all from one population, the pooled adult
  SSFP values of Kawel-Boehm N et al., "Normal values for cardiovascular magnetic resonance in adults and
  children", J Cardiovasc Magn Reson 2015;17:29 (doi:10.1186/s12968-015-0111-7), papillary muscles in the LV mass,
  as transcribed in Cardiovasc Diagn Ther 2020;10(6):1918-45, Table 3, column "Kawel-Boehm et al., 2015": EDV men
  160 +- 27 ml, women 132 +- 23; EDV/BSA 81 +- 12 ml/m2, 76 +- 10; ESV 54 +- 14 ml, 44 +- 11; ESV/BSA 26 +- 6,
  24 +- 5; SV 108 +- 18 ml, 87 +- 15; SV/BSA 54 +- 6 ml/m2, 52 +- 7; EF 67 +- 5 % (both); LV mass 134 +- 21 g,
  98 +- 21; mass/BSA 67 +- 9 g/m2, 61 +- 10. One population, so
  an absolute value and its index are judged alike (before, the absolute volumes came from Maceira 2006 and the
  indexed from the pooled set, and a man's ESV of 75 ml read high while its index of 36 ml/m2 read normal);
- the RV volumes and EF from Maceira et al. (Eur Heart J 2006;27:2879; 1.5 T bSSFP, 60 men : 60 women, 20-80
  years; one of the studies the 2020 update's Table 1 pools): RV EDV men 163 +- 27 ml, women 127 +- 24; RV ESV men
  57 +- 17, women 44 +- 15; RV EF 66 +- 7 %.
The 2015 paper's tables could not be opened when this was written (only the third-party Table 3 above, and the 2020
update's Table 1): the figures are transcriptions and need checking against the paper before a flag is relied on.
Neither source's ranges are by age, and the app counts papillary muscles and trabeculae as cavity (app/ml/
mri_stack_cleanup.py) where these references count them as mass: its volumes read somewhat larger and its mass
smaller than theirs. No CMR range is given for the RV indexed values (shown without a reference rather than with a
wrong one): the paper's RV tables could not be read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ASE_2015 = "ASE/EACVI 2015"
NEGATIVE_STRAINS = frozenset({"gls_pct"})  # shortening: the more negative, the better the function
CMR_RV = "Maceira 2006 (RV, SSFP)"
CMR_POOLED = "Kawel-Boehm 2015 (pooled SSFP)"


FLAGS = ("low", "high", "reduced")  # what a value outside its range is called


@dataclass(frozen=True)
class ReferenceRange:
    name: str  # measurement name as in Measurements (edv_ml, ef_pct, ...)
    low: float | None
    high: float | None
    unit: str
    sex: str  # "M", "F" or "" (either)
    source: str
    severity_cuts: tuple[float, float] | None = None  # (moderately, severely) abnormal beyond: _SEVERITY

    def grade(self, value: float | None, decimals: int | None = None) -> str:
        """How far outside its range a flagged value lies, in the guideline's words ("mildly", "moderately",
        "severely"), where the guideline grades it (_SEVERITY); "" otherwise (judged as shown with `decimals`)."""
        if value is None or self.severity_cuts is None or not self.flag(value, decimals):
            return ""
        if decimals is not None:
            value = float(f"{value:.{decimals}f}")
        moderate, severe = self.severity_cuts
        low = self.low is not None and value < self.low
        if low != (severe < moderate):  # graded on the side its cuts lie only (a high EF is no grade of low)
            return ""
        if (value < severe) if low else (value > severe):
            return "severely"
        if (value < moderate) if low else (value > moderate):
            return "moderately"
        return "mildly"

    def flag(self, value: float | None, decimals: int | None = None) -> str:
        """'low', 'high', or '' when the value is missing or within the range. With `decimals` the value
        is judged as it is shown (61.4 ml shown as "61 ml" is not "high" against 14-61). A strain, normal
        when at least as negative as its limit, is 'reduced' above it (GLS -13 % is reduced, not high)."""
        if value is None:
            return ""
        if decimals is not None:
            value = float(f"{value:.{decimals}f}")
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "reduced" if self.name in NEGATIVE_STRAINS else "high"
        return ""

    def label(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g} {self.unit}"
        if self.low is not None:
            return f">= {self.low:g} {self.unit}"
        return f"<= {self.high:g} {self.unit}"


# (male low, male high, female low, female high, unit, source); None: no bound on that side
_Row = tuple[float | None, float | None, float | None, float | None, str, str]

_TABLE: dict[str, _Row] = {
    # name: (male low, male high, female low, female high, unit, source)
    "ef_pct": (52, 72, 54, 74, "%", ASE_2015),
    "edv_ml": (62, 150, 46, 106, "ml", ASE_2015),
    "esv_ml": (21, 61, 14, 42, "ml", ASE_2015),
    "edv_index_ml_m2": (34, 74, 29, 61, "ml/m2", ASE_2015),
    "esv_index_ml_m2": (11, 31, 8, 24, "ml/m2", ASE_2015),
    "gls_pct": (None, -18, None, -18, "%", ASE_2015 + " strain"),
    "heart_rate_bpm": (60, 100, 60, 100, "bpm", "adult resting"),
    "la_volume_index_ml_m2": (None, 34, None, 34, "ml/m2", ASE_2015),  # LAVi (Lang 2015, Table 4)
}


_CMR_TABLE: dict[str, _Row] = {
    # name: (male low, male high, female low, female high, unit, source): mean +- 2 SD (module docstring)
    "edv_ml": (106, 214, 86, 178, "ml", CMR_POOLED),
    "esv_ml": (26, 82, 22, 66, "ml", CMR_POOLED),
    "ef_pct": (57, 77, 57, 77, "%", CMR_POOLED),
    "edv_index_ml_m2": (57, 105, 56, 96, "ml/m2", CMR_POOLED),
    "esv_index_ml_m2": (14, 38, 14, 34, "ml/m2", CMR_POOLED),
    "sv_ml": (72, 144, 57, 117, "ml", CMR_POOLED),
    "sv_index_ml_m2": (42, 66, 38, 66, "ml/m2", CMR_POOLED),
    "lv_mass_g": (92, 176, 56, 140, "g", CMR_POOLED),
    "lv_mass_index_g_m2": (49, 85, 41, 81, "g/m2", CMR_POOLED),
    "rv_edv_ml": (109, 217, 79, 175, "ml", CMR_RV),
    "rv_esv_ml": (23, 91, 14, 74, "ml", CMR_RV),
    "rv_ef_pct": (52, 80, 52, 80, "%", CMR_RV),
}


# ASE/EACVI 2015 (Lang et al.), Table 2, severity partitions of 2D echo values (both sexes): LV EF mildly abnormal
# 41 % to the lower limit, moderately 30-40 %, severely under 30 %; LA volume index mildly 35-41 ml/m2, moderately
# 42-48, severely over 48. (moderately beyond, severely beyond), in the abnormal direction.
_SEVERITY: dict[str, tuple[float, float]] = {"ef_pct": (41.0, 30.0), "la_volume_index_ml_m2": (41.0, 48.0)}


def _union(a: float | None, b: float | None, pick: Callable[[float, float], float]) -> float | None:
    return None if a is None or b is None else pick(a, b)


# Not applied to cine MRI: CMR slice-summation volumes run larger and its normal EF is higher (the echo
# lower limits 52/54 % would call a mildly reduced CMR EF normal); MRI uses _CMR_TABLE instead.
ECHO_ONLY = ("edv_ml", "esv_ml", "ef_pct", "edv_index_ml_m2", "esv_index_ml_m2", "gls_pct", "la_volume_index_ml_m2")


def reference_range(name: str, sex: str = "", modality: str = "echo") -> ReferenceRange | None:
    """The normal range of `name` for sex 'M' / 'F' (anything else: the union of both).

    The echo volume, EF and strain ranges (ECHO_ONLY) are not used for modality 'mri': there the CMR table
    (_CMR_TABLE: LV and RV volumes and EF, LV mass, indexed LV values) applies; heart rate is common to both.
    """
    row = _CMR_TABLE.get(name) if modality == "mri" else None
    if row is None:
        row = _TABLE.get(name)
        if row is not None and modality == "mri" and name in ECHO_ONLY:
            row = None
    if row is None:
        return None
    m_lo, m_hi, f_lo, f_hi, unit, source = row
    cuts = _SEVERITY.get(name) if source == ASE_2015 else None  # (the CMR references give no grades)
    sex = range_sex(sex)
    if sex == "M":
        return ReferenceRange(name, m_lo, m_hi, unit, "M", source, cuts)
    if sex == "F":
        return ReferenceRange(name, f_lo, f_hi, unit, "F", source, cuts)
    return ReferenceRange(name, _union(m_lo, f_lo, min), _union(m_hi, f_hi, max), unit, "", source, cuts)


def range_sex(sex: str | None) -> str:
    """'M' or 'F' when the ranges are that sex's, '' when they span both (the sex not given, or another)."""
    sex = (sex or "").upper()[:1]
    return sex if sex in ("M", "F") else ""


def classify(name: str, value: float | None, sex: str = "", modality: str = "echo",
             decimals: int | None = None) -> str:
    """'normal', one of FLAGS, or '' when there is no value or no range (judged as shown with `decimals`)."""
    rng = reference_range(name, sex, modality)
    if rng is None or value is None:
        return ""
    return rng.flag(value, decimals) or "normal"
