"""How two evaluation runs agree patient by patient (`evaluate echo-seg|mri-seg --compare-with OLD.json`).

A model change is judged by patient, not by a mean alone. Both evaluations keep every patient's measurements
in their --json results: `evaluate echo-seg` our and the expert's monoplane EDV / ESV / EF per dataset and
approach (`patient_errors`, under "patients"), `evaluate mri-seg` our and ACDC's reference LV / RV volumes and
EF per approach. For each quantity present in both runs, `agreement` gives on the patients both scored:
- the correlation of the patients' errors (ours - reference): near 1, the error belongs to the patients (their
  images or their tracings), not to the network variant;
- each run's mean absolute error and a bootstrap 95 % interval of their difference (resampling patients), which
  says whether a change of the mean is more than these patients' noise;
- how many patients got better and worse, and those whose error changed most.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.evaluation.echo_phase import PhaseRow

MOST_CHANGED = 3  # patients listed per row
BOOTSTRAP_DRAWS = 2000
MRI_QUANTITIES = ("lv_ef_pct", "rv_ef_pct", "lv_edv_ml", "rv_edv_ml")


def patient_errors(named_rows: list[tuple[str, PhaseRow]]) -> list[dict]:
    """[(patient, PhaseRow)] -> JSON-ready rows: patient, our and the expert's EDV / ESV (ml) and EF (%)."""
    return [{"patient": name, "edv_ml": round(r.edv_ml, 2), "ref_edv_ml": round(r.ref_edv_ml, 2),
             "esv_ml": round(r.esv_ml, 2), "ref_esv_ml": round(r.ref_esv_ml, 2),
             "ef_pct": round(r.ef_pct, 2), "ref_ef_pct": round(r.ref_ef_pct, 2)} for name, r in named_rows]


@dataclass(frozen=True)
class Agreement:
    """Two runs on the same patients: one dataset, approach and quantity (errors = ours - reference)."""

    dataset: str
    approach: str
    quantity: str
    n_patients: int
    error_correlation: float
    mae: float
    previous_mae: float
    mae_change_ci: tuple[float, float]  # bootstrap 95 % interval of mae - previous_mae
    n_better: int
    n_worse: int
    most_changed: tuple[tuple[str, float, float], ...]  # (patient, error now, error before)


def bootstrap_mean_interval(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """The bootstrap 95 % interval of the mean of per-patient (or per-clip) values, the patients resampled."""
    values = np.asarray(values, dtype=np.float64)
    draws = np.random.default_rng(seed).integers(0, values.size, (BOOTSTRAP_DRAWS, values.size))
    low, high = np.percentile(values[draws].mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def compare(dataset: str, approach: str, quantity: str, now: dict[str, float], before: dict[str, float],
            seed: int = 0) -> Agreement | None:
    """The Agreement of two {patient: error} maps on their common patients (None below 3 patients)."""
    common = sorted(p for p in set(now) & set(before) if np.isfinite(now[p]) and np.isfinite(before[p]))
    if len(common) < 3:
        return None
    a = np.array([now[p] for p in common])
    b = np.array([before[p] for p in common])
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    low, high = bootstrap_mean_interval(np.abs(a) - np.abs(b), seed)
    order = np.argsort(-np.abs(np.abs(a) - np.abs(b)))[:MOST_CHANGED]
    return Agreement(dataset, approach, quantity, len(common), round(r, 3), round(float(np.abs(a).mean()), 2),
                     round(float(np.abs(b).mean()), 2), (round(float(low), 2), round(float(high), 2)),
                     int((np.abs(a) < np.abs(b)).sum()), int((np.abs(a) > np.abs(b)).sum()),
                     tuple((common[i], round(float(a[i]), 1), round(float(b[i]), 1)) for i in order))


def _echo_errors(rows: list[dict]) -> dict[str, float]:
    return {r["patient"]: float(r["ef_pct"]) - float(r["ref_ef_pct"]) for r in rows}


def agreement(current: dict, previous: dict) -> list[Agreement]:
    """`evaluate echo-seg` results: the EF agreement of every dataset and approach with patient rows in both."""
    out = []
    for dataset, by_approach in current.items():
        for approach, row in by_approach.items():
            before = previous.get(dataset, {}).get(approach, {})
            if isinstance(row, dict) and "patients" in row and "patients" in before:
                found = compare(dataset, approach, "ef_pct", _echo_errors(row["patients"]),
                                _echo_errors(before["patients"]))
                out += [found] if found is not None else []
    return out


def _mri_errors(summary: dict, approach: str, quantity: str) -> dict[str, float]:
    return {p["patient"]: float(p["ours"][quantity]) - float(p["reference"][quantity])
            for p in summary.get("patients", []) if p.get("approach") == approach and quantity in p.get("ours", {})}


def mri_agreement(current: dict, previous: dict) -> list[Agreement]:
    """`evaluate mri-seg` summaries: LV / RV EF and EDV agreement per approach."""
    dataset = "acdc" + (f" ({current['degrade']})" if current.get("degrade") else "")
    approaches = sorted({p.get("approach") for p in current.get("patients", [])})
    out = []
    for approach in approaches:
        for quantity in MRI_QUANTITIES:
            found = compare(dataset, approach, quantity, _mri_errors(current, approach, quantity),
                            _mri_errors(previous, approach, quantity))
            out += [found] if found is not None else []
    return out


def read_results(path: Path) -> dict:
    """A results file of an evaluation's --json; SystemExit with one line when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the results to compare with ({path}): {exc}") from None


def format_agreement(rows: list[Agreement]) -> str:
    if not rows:
        return "== per patient: nothing measured per patient in both runs"
    lines = ["== per patient, this run against the other (errors = ours - reference; MAE change: 95 % bootstrap)",
             f"{'dataset':<26}{'approach':<10}{'quantity':<11}{'n':>4}{'r(errors)':>10}{'MAE now':>9}{'before':>8}"
             f"{'change 95 %':>22}{'better/worse':>14}  most changed (now / before)"]
    for a in rows:
        changed = ", ".join(f"{p} {now:+.1f} / {old:+.1f}" for p, now, old in a.most_changed)
        interval = f"{a.mae - a.previous_mae:+.2f} [{a.mae_change_ci[0]:+.2f}, {a.mae_change_ci[1]:+.2f}]"
        lines.append(f"{a.dataset:<26}{a.approach:<10}{a.quantity:<11}{a.n_patients:>4}{a.error_correlation:>10.3f}"
                     f"{a.mae:>9.2f}{a.previous_mae:>8.2f}{interval:>22}{f'{a.n_better}/{a.n_worse}':>14}  {changed}")
    return "\n".join(lines)
