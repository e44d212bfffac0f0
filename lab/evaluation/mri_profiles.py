"""`evaluate mri-seg --degrade P1,P2,...`: one line per degradation profile beside the clean cross-validation, so
the gap to other scanners (M&Ms: Dice LV 0.868 against ACDC's 0.940) shows up in our own numbers.

Reads the summaries `lab.evaluation.mri_acdc` writes (the "clean" approach, all patients): mean 3D Dice of ED and
ES per structure, LV EF bias and mean absolute error, RV EF mean absolute error (also from the slices the expert drew
RV in: the contours without the basal-slice choice), and LV EDV mean absolute error in percent of the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

APPROACH = "clean"


@dataclass(frozen=True)
class ProfileRow:
    profile: str  # "clean" or a lab/data/degrade_mri.py profile
    n: int
    dice_lv: float  # mean of ED and ES
    dice_myo: float
    dice_rv: float
    lv_ef_bias_pts: float
    lv_ef_mae_pts: float
    rv_ef_mae_pts: float
    rv_ef_expert_slices_mae_pts: float  # our RV on the slices the expert drew RV in (nan in older summaries)
    lv_edv_mae_pct: float


def profile_row(summary: dict) -> ProfileRow:
    """The line of one `evaluate mri-seg` summary (its "degrade", "tables" and "patients")."""
    entry = summary["tables"][APPROACH]["all"]
    dice = entry["dice"]
    values = entry["values"]
    edv = [100.0 * abs(p["ours"]["lv_edv_ml"] - p["reference"]["lv_edv_ml"]) / p["reference"]["lv_edv_ml"]
           for p in summary["patients"] if p["approach"] == APPROACH and p["reference"]["lv_edv_ml"] > 0]
    return ProfileRow(
        profile=summary.get("degrade") or "clean", n=int(entry["n"]),
        dice_lv=(dice["lv_ed"] + dice["lv_es"]) / 2, dice_myo=(dice["myo_ed"] + dice["myo_es"]) / 2,
        dice_rv=(dice["rv_ed"] + dice["rv_es"]) / 2,
        lv_ef_bias_pts=values["lv_ef_pct"]["bias"], lv_ef_mae_pts=values["lv_ef_pct"]["mae"],
        rv_ef_mae_pts=values["rv_ef_pct"]["mae"],
        rv_ef_expert_slices_mae_pts=values.get("rv_ef_expert_slices_pct", {}).get("mae", float("nan")),
        lv_edv_mae_pct=float(np.mean(edv)) if edv else float("nan"))


def format_profiles(rows: list[ProfileRow]) -> str:
    """The table: one line per profile, with each Dice's change against the first row (clean) when there is one."""
    base = rows[0] if rows and rows[0].profile == "clean" else None
    lines = ["per profile (clean approach; Dice = mean of ED and ES; change against clean in brackets)",
             f"{'profile':9} {'n':>3} {'LV':>15} {'myocardium':>15} {'RV':>15} {'LV EF bias':>10} {'LV EF MAE':>9} "
             f"{'RV EF MAE':>9} {'(expert slices)':>15} {'LV EDV':>7}"]
    for r in rows:
        ref = base if base is not None and r is not base else None
        lines.append(
            f"{r.profile:9} {r.n:>3} {_cell(r.dice_lv, ref and ref.dice_lv):>15} "
            f"{_cell(r.dice_myo, ref and ref.dice_myo):>15} {_cell(r.dice_rv, ref and ref.dice_rv):>15} "
            f"{r.lv_ef_bias_pts:>+10.1f} {r.lv_ef_mae_pts:>9.2f} {r.rv_ef_mae_pts:>9.2f} "
            f"{r.rv_ef_expert_slices_mae_pts:>15.2f} {r.lv_edv_mae_pct:>6.1f}%")
    return "\n".join(lines)


def _cell(value: float, ref: float | None) -> str:
    return f"{value:.3f}" + (f" ({value - ref:+.3f})" if ref is not None else " " * 9)
