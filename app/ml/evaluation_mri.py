"""`cardiotrace evaluate mri-seg`: leave-one-patient-out scores on Sunnybrook, per approach.

For each approach (CNN alone, one-level ConvLSTM, multi-level ConvLSTM) whose LOO checkpoints exist
(checkpoints/mri_seg_<temporal>_<case>/last.pt, from `train mri-seg --holdout CASE`), each held-out case is
segmented over its whole cycle and scored at the expert-contoured phases: Dice of the blood pool (all
contoured phases) and myocardium (ED), Hausdorff (mm) and average perpendicular distance (mm) of the
endocardium, and EDV/ESV/EF from the contoured slices against the same sums of expert areas.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.analysis.contour_metrics import average_perpendicular_distance_mm
from app.analysis.seg_metrics import hausdorff_mm
from app.data.datasets import sunnybrook
from app.ml.training.checkpoint import CHECKPOINTS_DIR, load_checkpoint
from app.ml.training.mri_data import GRID_MM, UNLABELLED
from app.ml.training.mri_seg import CASES, SUNNYBROOK, load_samples, score_sample

APPROACHES = {"none": "CNN alone", "single": "one-level ConvLSTM", "multi": "multi-level ConvLSTM"}


@dataclass(frozen=True)
class CaseScore:
    approach: str
    case: str
    dice_pool: float
    dice_myo: float
    hd_endo_mm: float
    apd_endo_mm: float
    edv_ml: tuple[float, float]  # (expert, model)
    esv_ml: tuple[float, float]
    ef_pct: tuple[float, float]


def slice_spacing_mm(root: Path, case: str) -> float:
    """Distance between neighbouring slices from the contoured images' positions."""
    images = sunnybrook.contoured_images(root, case)
    by_slice = {sunnybrook.slice_and_phase(im.instance)[0]: np.array(im.position_mm) for im in images}
    keys = sorted(by_slice)
    steps = [np.linalg.norm(by_slice[b] - by_slice[a]) / (b - a) for a, b in zip(keys, keys[1:])]
    return float(np.median(steps))


def evaluate_case(net, approach: str, root: Path, case: str) -> CaseScore:
    from app.ml.mri_inference import predict_cycle

    samples = load_samples(root, (case,), CHECKPOINTS_DIR / "mri_data")
    dz = slice_spacing_mm(root, case)
    pool, myo, hd, apd = [], [], [], []
    vol = {"ed": [0.0, 0.0], "es": [0.0, 0.0]}
    for sample in samples:
        labels = predict_cycle(net, sample.image)
        scores = score_sample(labels, sample.target)
        pool += scores["dice_pool"]
        myo += scores["dice_myo"]
        for t in range(len(sample.target)):
            target = sample.target[t]
            if (target == UNLABELLED).all():
                continue
            truth_pool, pred_pool = target == 1, labels[t] == 1
            hd.append(hausdorff_mm(pred_pool.astype(np.uint8), truth_pool.astype(np.uint8), 1, (GRID_MM, GRID_MM)))
            apd.append(average_perpendicular_distance_mm(pred_pool, truth_pool, (GRID_MM, GRID_MM)))
            phase = "ed" if (target <= 2).all() else "es"
            vol[phase][0] += truth_pool.sum() * GRID_MM**2 * dz / 1000.0
            vol[phase][1] += pred_pool.sum() * GRID_MM**2 * dz / 1000.0
    ef = tuple(100.0 * (vol["ed"][i] - vol["es"][i]) / vol["ed"][i] if vol["ed"][i] else float("nan") for i in (0, 1))
    finite = [d for d in hd if np.isfinite(d)]
    return CaseScore(approach, case, float(np.mean(pool)), float(np.mean(myo)) if myo else float("nan"),
                     float(np.mean(finite)) if finite else float("inf"),
                     float(np.mean([d for d in apd if np.isfinite(d)] or [float("inf")])),
                     tuple(vol["ed"]), tuple(vol["es"]), ef)


def load_fold(approach: str, case: str):
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    state = load_checkpoint(CHECKPOINTS_DIR / f"mri_seg_{approach}_{case}" / "last.pt")
    if state is None:
        return None, 0
    net = MultiLevelConvLSTMNet(int(state["args"]["base_channels"]), approach)
    net.load_state_dict(state["model"])
    return net.eval(), int(state["step"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cardiotrace evaluate mri-seg", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SUNNYBROOK)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: Sunnybrook data not found at {args.data}", file=sys.stderr)
        return 2
    results: list[CaseScore] = []
    print(f"{'approach':<22}{'case':<11}{'steps':>6}{'DSC endo':>10}{'DSC myo':>9}{'HD mm':>8}{'APD mm':>8}"
          f"{'EDV ml (exp/ai)':>18}{'ESV ml (exp/ai)':>18}{'EF % (exp/ai)':>16}")
    for approach, title in APPROACHES.items():
        for case in CASES:
            net, steps = load_fold(approach, case)
            if net is None:
                print(f"{title:<22}{case:<11}  not trained (python -m app train mri-seg --temporal {approach} --holdout {case})")
                continue
            s = evaluate_case(net, approach, args.data, case)
            results.append(s)
            print(f"{title:<22}{case:<11}{steps:>6}{s.dice_pool:>10.3f}{s.dice_myo:>9.3f}{s.hd_endo_mm:>8.1f}"
                  f"{s.apd_endo_mm:>8.2f}{s.edv_ml[0]:>9.0f}/{s.edv_ml[1]:<8.0f}{s.esv_ml[0]:>9.0f}/{s.esv_ml[1]:<8.0f}"
                  f"{s.ef_pct[0]:>8.1f}/{s.ef_pct[1]:<7.1f}")
    for approach, title in APPROACHES.items():
        rows = [r for r in results if r.approach == approach]
        if rows:
            ef_err = np.mean([abs(r.ef_pct[1] - r.ef_pct[0]) for r in rows])
            print(f"{title + ' mean':<33}{np.mean([r.dice_pool for r in rows]):>10.3f}"
                  f"{np.nanmean([r.dice_myo for r in rows]):>9.3f}{np.mean([r.hd_endo_mm for r in rows]):>8.1f}"
                  f"{np.mean([r.apd_endo_mm for r in rows]):>8.2f}   |EF error| {ef_err:.1f} points")
    return 0
