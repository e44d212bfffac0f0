"""Choose the plateau tolerances of app.analysis.edes_fusion.curve_extrema on tuning phantoms (never the evaluation
seeds).

`python -m lab.evaluation.edes_tuning [--echo 60] [--mri 36]` renders (and caches) phantom recordings with seeds
TUNING_SEEDS (disjoint from training 100000+/120000+/150000+, validation 200000+/250000+ and the evaluation
seeds 300000+/310000+ of `evaluate ed-es`), predicts each TempReg curve once, and prints, per modality, the
ED and ES aFD for every pair of tolerances. The pair with the lowest mean aFD (ED + ES) of each modality is
the one to set in app.analysis.edes_fusion.PLATEAU_TOL.
"""

from __future__ import annotations

import itertools

import numpy as np

from app.commands.usage import OneLineParser

TUNING_SEEDS = {"echo": 305_000, "mri": 315_000}
TOLERANCES = (0.01, 0.02, 0.03, 0.05, 0.08, 0.10, 0.12, 0.15, 0.20)


def score_tolerances(cases, curves, tol_ed: float, tol_es: float, modality: str = "echo") -> dict:
    """{'ed': aFD, 'es': aFD, 'missed': n, 'extra': n} over the cases with the given tolerances."""
    from app.analysis import edes_fusion as edes
    from lab.evaluation.edes_scoring import MethodScore

    saved = dict(edes.PLATEAU_TOL)
    edes.PLATEAU_TOL[modality] = (tol_ed, tol_es)
    try:
        score = MethodScore()
        for case, curve in zip(cases, curves, strict=False):
            ed, es = edes.curve_extrema(curve, case.frame_rate_hz, modality)
            score.add(case.ed_frames, case.es_frames, ed, es, case.frame_rate_hz)
    finally:
        edes.PLATEAU_TOL.clear()
        edes.PLATEAU_TOL.update(saved)
    s = score.summary()
    return {"ed": s["ed"]["afd"], "es": s["es"]["afd"], "missed": s["missed"], "extra": s["extra"]}


def best_tolerances(cases, curves, modality: str, show: int = 8) -> tuple[float, float]:
    """Print the `show` best (ED, ES) tolerance pairs of one modality's cases; return the best."""
    rows = []
    for tol_ed, tol_es in itertools.product(TOLERANCES, TOLERANCES):
        r = score_tolerances(cases, curves, tol_ed, tol_es, modality)
        rows.append((0.5 * (r["ed"] + r["es"]), tol_ed, tol_es, r))
    rows.sort(key=lambda row: row[0])
    print(f"{modality} ({len(cases)} tuning recordings)")
    print(f"{'ED tol':>7} {'ES tol':>7} {'ED aFD':>7} {'ES aFD':>7} {'missed':>7} {'extra':>6}")
    for _, tol_ed, tol_es, r in rows[:show]:
        print(f"{tol_ed:7.2f} {tol_es:7.2f} {r['ed']:7.3f} {r['es']:7.3f} {r['missed']:7d} {r['extra']:6d}")
    return rows[0][1], rows[0][2]


def main(argv: list[str] | None = None) -> int:
    from app.ml.edes import load_tempreg, predict_curve
    from lab.evaluation.edes import EVAL_CACHE, load_or_render

    parser = OneLineParser(prog="python -m lab.evaluation.edes_tuning", description=__doc__.splitlines()[0])
    parser.add_argument("--echo", type=int, default=60)
    parser.add_argument("--mri", type=int, default=36)
    args = parser.parse_args(argv)
    model = load_tempreg()
    best = {}
    for modality, count in (("echo", args.echo), ("mri", args.mri)):
        if count <= 0:
            continue
        cases = [load_or_render(TUNING_SEEDS[modality] + i, modality, EVAL_CACHE) for i in range(count)]
        curves = [predict_curve(model, case.clip.astype(np.float32) / 255.0) for case in cases]
        best[modality] = best_tolerances(cases, curves, modality)
    print("best: PLATEAU_TOL = " + repr({m: tuple(float(t) for t in v) for m, v in best.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
