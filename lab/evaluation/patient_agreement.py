"""Per-patient EF errors of `evaluate echo-seg`, and how two runs agree patient by patient.

A model change is judged by patient, not by a mean alone: `patient_errors` gives, for every patient of a scored
dataset, our and the expert's EDV, ESV and EF (the same monoplane disks as the per-phase figures, echo_phase);
`evaluate echo-seg --json` stores them under each approach's "patients". `agreement(current, previous)` then
compares two such runs (for example a new network against the shipped one, `--compare-with OLD.json`): per
dataset and approach, the correlation of the patients' EF errors (near 1: the error belongs to the patients,
their images or their tracings, not to the network variant), the mean absolute error of each run on the same
patients, and the patients whose error changed most.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.evaluation.echo_phase import PhaseRow

MOST_CHANGED = 3  # patients listed per dataset and approach


def patient_errors(named_rows: list[tuple[str, PhaseRow]]) -> list[dict]:
    """[(patient, PhaseRow)] -> JSON-ready rows: patient, our and the expert's EDV / ESV (ml) and EF (%)."""
    return [{"patient": name, "edv_ml": round(r.edv_ml, 2), "ref_edv_ml": round(r.ref_edv_ml, 2),
             "esv_ml": round(r.esv_ml, 2), "ref_esv_ml": round(r.ref_esv_ml, 2),
             "ef_pct": round(r.ef_pct, 2), "ref_ef_pct": round(r.ref_ef_pct, 2)} for name, r in named_rows]


@dataclass(frozen=True)
class Agreement:
    """Two runs on the same patients of one dataset and approach (EF errors = ours - expert, points)."""

    dataset: str
    approach: str
    n_patients: int
    ef_error_correlation: float
    ef_mae_pts: float
    previous_ef_mae_pts: float
    most_changed: tuple[tuple[str, float, float], ...]  # (patient, error now, error before)


def _errors(rows: list[dict]) -> dict[str, float]:
    return {r["patient"]: float(r["ef_pct"]) - float(r["ref_ef_pct"]) for r in rows}


def agreement(current: dict, previous: dict) -> list[Agreement]:
    """Agreement of every dataset and approach present in both results (evaluate echo-seg --json) with patient
    rows; patients scored in only one run are left out."""
    out = []
    for dataset, by_approach in current.items():
        for approach, row in by_approach.items():
            before = previous.get(dataset, {}).get(approach, {})
            if not isinstance(row, dict) or "patients" not in row or "patients" not in before:
                continue
            now_err, old_err = _errors(row["patients"]), _errors(before["patients"])
            common = sorted(set(now_err) & set(old_err))
            if len(common) < 3:
                continue
            a = np.array([now_err[p] for p in common])
            b = np.array([old_err[p] for p in common])
            r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
            order = np.argsort(-np.abs(a - b))[:MOST_CHANGED]
            out.append(Agreement(dataset, approach, len(common), round(r, 3), round(float(np.abs(a).mean()), 2),
                                 round(float(np.abs(b).mean()), 2),
                                 tuple((common[i], round(float(a[i]), 1), round(float(b[i]), 1)) for i in order)))
    return out


def read_results(path: Path) -> dict:
    """A results file of `evaluate echo-seg --json`; SystemExit with one line when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the results to compare with ({path}): {exc}") from None


def format_agreement(rows: list[Agreement]) -> str:
    if not rows:
        return "== per patient: no dataset and approach with patient rows in both runs"
    lines = ["== per patient, this run against the other (EF error = ours - expert, points)",
             f"{'dataset':<28}{'approach':<12}{'n':>4}{'r(errors)':>11}{'MAE now':>9}{'before':>8}"
             "  most changed (now / before)"]
    for a in rows:
        changed = ", ".join(f"{p} {now:+.1f} / {old:+.1f}" for p, now, old in a.most_changed)
        lines.append(f"{a.dataset:<28}{a.approach:<12}{a.n_patients:>4}{a.ef_error_correlation:>11.3f}"
                     f"{a.ef_mae_pts:>9.2f}{a.previous_ef_mae_pts:>8.2f}  {changed}")
    return "\n".join(lines)
