"""Choose the plateau tolerances of app.ml.edes.curve_extrema on tuning phantoms (never the evaluation seeds).

`python -m app.ml.edes_tuning [--echo 24] [--mri 12]` renders (and caches) phantom recordings with seeds
TUNING_SEEDS (disjoint from training 100000+/120000+/150000+, validation 200000+/250000+ and the evaluation
seeds 300000+/310000+ of `evaluate ed-es`), predicts each TempReg curve once, and prints the ED and ES aFD
for every pair of tolerances; the pair with the lowest mean aFD (ED + ES, echo and MRI recordings pooled)
is the one to set as ED_PLATEAU_TOL / ES_PLATEAU_TOL.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

TUNING_SEEDS = {"echo": 305_000, "mri": 315_000}
TOLERANCES = (0.01, 0.02, 0.03, 0.05, 0.08, 0.12)


def score_tolerances(cases, curves, tol_ed: float, tol_es: float) -> dict:
    """{'ed': aFD, 'es': aFD, 'missed': n, 'extra': n} over the cases with the given tolerances."""
    from app.ml import edes
    from app.ml.evaluation_edes import MethodScore

    saved = edes.ED_PLATEAU_TOL, edes.ES_PLATEAU_TOL
    edes.ED_PLATEAU_TOL, edes.ES_PLATEAU_TOL = tol_ed, tol_es
    try:
        score = MethodScore()
        for case, curve in zip(cases, curves):
            ed, es = edes.curve_extrema(curve, case.frame_rate_hz)
            score.add(case.ed_frames, case.es_frames, ed, es, case.frame_rate_hz)
    finally:
        edes.ED_PLATEAU_TOL, edes.ES_PLATEAU_TOL = saved
    s = score.summary()
    return {"ed": s["ed"]["afd"], "es": s["es"]["afd"], "missed": s["missed"], "extra": s["extra"]}


def main(argv: list[str] | None = None) -> int:
    from app.ml.edes import load_tempreg, predict_curve
    from app.ml.evaluation_edes import EVAL_CACHE, load_or_render

    parser = argparse.ArgumentParser(prog="python -m app.ml.edes_tuning", description=__doc__.splitlines()[0])
    parser.add_argument("--echo", type=int, default=24)
    parser.add_argument("--mri", type=int, default=12)
    args = parser.parse_args(argv)
    model = load_tempreg()
    cases, curves = [], []
    for modality, count in (("echo", args.echo), ("mri", args.mri)):
        for i in range(count):
            case = load_or_render(TUNING_SEEDS[modality] + i, modality, EVAL_CACHE)
            cases.append(case)
            curves.append(predict_curve(model, case.clip.astype(np.float32) / 255.0))
    rows = []
    for tol_ed, tol_es in itertools.product(TOLERANCES, TOLERANCES):
        r = score_tolerances(cases, curves, tol_ed, tol_es)
        rows.append((0.5 * (r["ed"] + r["es"]), tol_ed, tol_es, r))
    print(f"{'ED tol':>7} {'ES tol':>7} {'ED aFD':>7} {'ES aFD':>7} {'missed':>7} {'extra':>6}")
    for mean, tol_ed, tol_es, r in sorted(rows, key=lambda row: row[0])[:10]:
        print(f"{tol_ed:7.2f} {tol_es:7.2f} {r['ed']:7.3f} {r['es']:7.3f} {r['missed']:7d} {r['extra']:6d}")
    best = min(rows, key=lambda row: row[0])
    print(f"best: ED_PLATEAU_TOL = {best[1]}, ES_PLATEAU_TOL = {best[2]} ({len(cases)} tuning recordings)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
