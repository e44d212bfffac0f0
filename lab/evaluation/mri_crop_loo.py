"""`cardiotrace evaluate mri-seg`: leave-one-patient-out scores on Sunnybrook, per approach.

For each approach (CNN alone, one-level ConvLSTM, multi-level ConvLSTM) whose LOO checkpoints exist
(checkpoints/mri_seg_<temporal>_<case>/last.pt, from `train mri-seg --holdout CASE`), each held-out case is
segmented over its whole cycle, labelled by the probability thresholds of lab/training/mri_decision.py tuned
on the OTHER folds' held-out patients (nested; --argmax: the plain argmax) and cleaned up as in
lab/training/mri_postprocess.py (--raw: argmax, no clean-up), and scored at the expert-contoured phases: Dice of
the blood pool (all contoured phases) and myocardium (ED, where the epicardium is drawn on its image: not
SC-HF-I-6, whose re-registered epicardia of lab/training/mri_epi_alignment.py only ever train),
Hausdorff (mm) and average perpendicular distance (mm) of the endocardium, and EDV/ESV/EF (and the myocardial
mass where the epicardium is drawn) from the contoured slices against the same sums of expert areas.
Writes checkpoints/mri_seg_loo/summary.json, which `train mri-seg --publish` copies into the metadata
(or --update-model writes it into the lab record lab/notes/mri_seg.json, with the approach's thresholds
tuned on all its held-out predictions as the crop model's "decision"; the shipped model folder is never
rewritten by an evaluation).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.analysis.volumes import MYOCARDIAL_DENSITY_G_PER_ML
from app.commands.usage import OneLineParser
from app.paths import write_json
from lab.data import sunnybrook
from lab.evaluation.contour_metrics import average_perpendicular_distance_mm
from lab.evaluation.seg_metrics import hausdorff_mm
from lab.training.checkpoint import CHECKPOINTS_DIR, load_checkpoint
from lab.training.mri_data import GRID_MM, UNLABELLED
from lab.training.mri_decision import ARGMAX, Decision, decide, score_sample, tune
from lab.training.mri_seg import CASES, SUNNYBROOK, carry_over, load_samples, loo_summary_path, run_name

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
    decision: Decision = ARGMAX
    mass_g: tuple[float, float] = (float("nan"), float("nan"))  # (expert, model), where the epicardium is drawn


@dataclass(frozen=True)
class HeldOut:
    """A fold's predictions for its held-out case at the expert-contoured phases, slice by slice:
    probs (P, 3, S, S), targets (P, S, S) codes of mri_data, is_ed (P,) bool; dz_mm slice spacing."""

    case: str
    probs: tuple[np.ndarray, ...]
    targets: tuple[np.ndarray, ...]
    is_ed: tuple[np.ndarray, ...]
    dz_mm: float

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self.probs, self.targets, strict=False))


def slice_spacing_mm(root: Path, case: str) -> float:
    """Distance between neighbouring slices from the contoured images' positions."""
    images = sunnybrook.contoured_images(root, case)
    by_slice = {sunnybrook.slice_and_phase(im.instance)[0]: np.array(im.position_mm) for im in images}
    keys = sorted(by_slice)
    steps = [np.linalg.norm(by_slice[b] - by_slice[a]) / (b - a) for a, b in zip(keys, keys[1:], strict=False)]
    return float(np.median(steps))


def predict_held_out(net, root: Path, case: str, tta_views: int | None = None) -> HeldOut:
    """Whole-cycle inference on every contoured slice of `case`, kept at the contoured phases."""
    from app.ml.mri_inference import predict_cycle_probs

    samples = load_samples(root, (case,), CHECKPOINTS_DIR / "mri_data")
    ed_phase = _ed_phase(samples)
    probs, targets, is_ed = [], [], []
    for sample in samples:
        phases = np.flatnonzero((sample.target != UNLABELLED).any(axis=(1, 2)))
        probs.append(predict_cycle_probs(net, sample.image, tta_views)[phases])
        targets.append(sample.target[phases])
        is_ed.append(phases == ed_phase)
    return HeldOut(case, tuple(probs), tuple(targets), tuple(is_ed), slice_spacing_mm(root, case))


def score_held_out(held: HeldOut, approach: str, decision: Decision = ARGMAX, clean: bool = True) -> CaseScore:
    """Dice, HD, APD and the contoured-slice volumes of one held-out case under `decision`."""
    pool, myo, hd, apd = [], [], [], []
    vol = {True: [0.0, 0.0], False: [0.0, 0.0]}  # is ED -> (expert, model) ml
    myo_ml = [0.0, 0.0]  # (expert, model) over the fully labelled (epicardium drawn) phases
    for probs, target, is_ed in zip(held.probs, held.targets, held.is_ed, strict=False):
        labels = decide(probs, decision, clean)
        scores = score_sample(labels, target)
        pool += scores["dice_pool"]
        myo += scores["dice_myo"]
        for t in range(len(target)):
            truth_pool, pred_pool = target[t] == 1, labels[t] == 1
            hd.append(hausdorff_mm(pred_pool.astype(np.uint8), truth_pool.astype(np.uint8), 1, (GRID_MM, GRID_MM)))
            apd.append(average_perpendicular_distance_mm(pred_pool, truth_pool, (GRID_MM, GRID_MM)))
            vol[bool(is_ed[t])][0] += truth_pool.sum() * GRID_MM**2 * held.dz_mm / 1000.0
            vol[bool(is_ed[t])][1] += pred_pool.sum() * GRID_MM**2 * held.dz_mm / 1000.0
            if (target[t] <= 2).all():
                myo_ml[0] += (target[t] == 2).sum() * GRID_MM**2 * held.dz_mm / 1000.0
                myo_ml[1] += (labels[t] == 2).sum() * GRID_MM**2 * held.dz_mm / 1000.0
    ed, es = vol[True], vol[False]
    ef = tuple(100.0 * (ed[i] - es[i]) / ed[i] if ed[i] else float("nan") for i in (0, 1))
    finite = [d for d in hd if np.isfinite(d)]
    return CaseScore(approach, held.case, float(np.mean(pool)), float(np.mean(myo)) if myo else float("nan"),
                     float(np.mean(finite)) if finite else float("inf"),
                     float(np.mean([d for d in apd if np.isfinite(d)] or [float("inf")])),
                     tuple(ed), tuple(es), ef, decision,
                     tuple(MYOCARDIAL_DENSITY_G_PER_ML * v if myo_ml[0] else float("nan") for v in myo_ml))


def nested_decision(held: dict[str, HeldOut], case: str) -> Decision:
    """Thresholds tuned on the held-out predictions of every fold but `case`'s (ARGMAX with no other fold)."""
    others = [pair for name, h in held.items() if name != case for pair in h.pairs()]
    return tune(others) if others else ARGMAX


def _ed_phase(samples) -> int:
    """ED = the contoured phase index with the larger total expert blood pool (one ED and one ES per case;
    the epicardium cannot tell them apart where it was dropped as misregistered)."""
    totals: dict[int, int] = {}
    for sample in samples:
        for t in np.flatnonzero((sample.target != UNLABELLED).any(axis=(1, 2))):
            totals[int(t)] = totals.get(int(t), 0) + int((sample.target[t] == 1).sum())
    return max(totals, key=totals.get)


def load_fold(approach: str, case: str, tag: str = ""):
    """(net in eval mode, steps, training args) of one fold run, (None, 0, {}) when it is not there. A
    comma-separated tag ("a,b,c") is an ensemble (app/ml/nets/mri_ensemble.py) of those runs' folds; its
    steps and args are the first unfinished member's (else the first member's), so it counts as finished
    only when every member is."""
    if "," in tag:
        return _load_ensemble_fold(approach, case, [t.strip() for t in tag.split(",")])
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    state = load_checkpoint(CHECKPOINTS_DIR / run_name(approach, case, tag) / "last.pt")
    if state is None:
        return None, 0, {}
    net = MultiLevelConvLSTMNet(int(state["args"]["base_channels"]), approach)
    net.load_state_dict(state["model"])
    return net.eval(), int(state["step"]), dict(state["args"])


def _load_ensemble_fold(approach: str, case: str, tags: list[str]):
    from app.ml.nets.mri_ensemble import MriEnsemble

    loaded = [load_fold(approach, case, t) for t in tags]
    if any(net is None for net, _, _ in loaded):
        return None, 0, {}
    unfinished = [(step, args) for _, step, args in loaded if not fold_finished(step, args)]
    step, args = unfinished[0] if unfinished else (loaded[0][1], loaded[0][2])
    return MriEnsemble([net for net, _, _ in loaded]).eval(), step, {**args, "ensemble_of_tags": tags}


def fold_finished(step: int, fold_args: dict) -> bool:
    """A fold run has reached its --steps (a resumable run stopped by --max-minutes is not scored)."""
    return step >= int(fold_args.get("steps", 0))


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="cardiotrace evaluate mri-seg-crop-loo", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SUNNYBROOK)
    parser.add_argument("--raw", action="store_true",
                        help="score the network's argmax without the anatomical clean-up")
    parser.add_argument("--argmax", action="store_true", help="label by the argmax instead of tuned thresholds")
    parser.add_argument("--tag", default="", help="evaluate the fold runs trained with `train mri-seg --tag TAG`")
    parser.add_argument(
        "--update-model",
        action="store_true",
        help="also write the table and the approach's thresholds into the lab record lab/notes/mri_seg.json "
        "(never the shipped models/mri_seg)",
    )
    parser.add_argument("--tta-views", type=int, default=None,
                        help="flips/quarter turns averaged at inference (default: the product's TTA_VIEWS; 1 = off)")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: Sunnybrook data not found at {args.data}", file=sys.stderr)
        return 2
    results: list[CaseScore] = []
    recipes: dict[str, dict] = {}
    decisions: dict[str, Decision] = {}
    print(
        f"{'approach':<22}{'case':<11}{'steps':>6}{'DSC endo':>10}{'DSC myo':>9}{'HD mm':>8}{'APD mm':>8}"
        f"{'EDV ml (exp/ai)':>18}{'ESV ml (exp/ai)':>18}{'EF % (exp/ai)':>16}{'mass g (exp/ai)':>18}"
        f"{'pool/heart p':>14}"
    )
    for approach, title in APPROACHES.items():
        held: dict[str, HeldOut] = {}
        for case in CASES:
            net, steps, fold_args = load_fold(approach, case, args.tag)
            if net is None or not fold_finished(steps, fold_args):
                tag = f" --tag {args.tag}" if args.tag else ""
                state = "not trained" if net is None else f"unfinished, step {steps} of {fold_args['steps']}; resume"
                print(f"{title:<22}{case:<11}  {state} (python -m app train mri-seg --temporal {approach} "
                      f"--holdout {case}{tag} ...)")
                continue
            held[case] = predict_held_out(net, args.data, case, args.tta_views)
            recipes[f"{approach}/{case}"] = {k: v for k, v in fold_args.items() if k not in ("data", "publish")}
        tuned = not (args.raw or args.argmax)
        for case, h in held.items():
            s = score_held_out(h, approach, nested_decision(held, case) if tuned else ARGMAX, clean=not args.raw)
            results.append(s)
            print(f"{title:<22}{case:<11}{recipes[f'{approach}/{case}'].get('steps', 0):>6}{s.dice_pool:>10.3f}"
                  f"{s.dice_myo:>9.3f}{s.hd_endo_mm:>8.1f}{s.apd_endo_mm:>8.2f}{s.edv_ml[0]:>9.0f}/{s.edv_ml[1]:<8.0f}"
                  f"{s.esv_ml[0]:>9.0f}/{s.esv_ml[1]:<8.0f}{s.ef_pct[0]:>8.1f}/{s.ef_pct[1]:<7.1f}"
                  f"{s.mass_g[0]:>9.0f}/{s.mass_g[1]:<8.0f}{_thresholds(s.decision):>14}")
        if tuned and held:
            decisions[approach] = tune([pair for h in held.values() for pair in h.pairs()])
            print(f"{title}: thresholds on all held-out patients {_thresholds(decisions[approach])}")
    if not results:
        tag = f" with --tag {args.tag}" if args.tag else ""
        print(f"error: no finished fold{tag} to evaluate (train the folds listed above first)", file=sys.stderr)
        return 2
    _print_means(results)
    if not args.raw:
        command = " ".join(["python -m app evaluate mri-seg-crop-loo"] + [a for a in argv if a != "--update-model"])
        path = write_summary(results, recipes, _tta_views(args.tta_views), decisions, command, args.tag)
        print(f"summary written to {path}")
        if args.update_model:
            _update_model(path, decisions)
    return 0


def _thresholds(decision: Decision) -> str:
    if decision.pool_probability is None:
        return "argmax"
    return f"{decision.pool_probability:.2f}/{decision.heart_probability:.2f}"


def _print_means(results: list[CaseScore]) -> None:
    for approach, title in APPROACHES.items():
        rows = [r for r in results if r.approach == approach]
        if rows:
            ef_err = np.mean([abs(r.ef_pct[1] - r.ef_pct[0]) for r in rows])
            print(f"{title + ' mean':<33}{np.mean([r.dice_pool for r in rows]):>10.3f}"
                  f"{np.nanmean([r.dice_myo for r in rows]):>9.3f}{np.mean([r.hd_endo_mm for r in rows]):>8.1f}"
                  f"{np.mean([r.apd_endo_mm for r in rows]):>8.2f}   |EF error| {ef_err:.1f} points, "
                  f"|mass error| {_mass_error_pct(rows):.0f} %")


def _mass_error_pct(rows: list[CaseScore]) -> float:
    """Mean |model - expert| myocardial mass in % of the expert's, over the cases with a drawn epicardium."""
    errors = [100.0 * abs(r.mass_g[1] - r.mass_g[0]) / r.mass_g[0] for r in rows if np.isfinite(r.mass_g[0])]
    return float(np.mean(errors)) if errors else float("nan")


def _update_model(summary_path: Path, decisions: dict[str, Decision]) -> None:
    """leave_one_out into the lab record of mri_seg, and the thresholds of the recorded approach as its decision."""
    from lab.model_notes import read_metadata, update_metadata

    meta = read_metadata("mri_seg")
    shipped = meta.get("build", {}).get("temporal")
    decision = None  # evaluated with --argmax: the model labels by the argmax too
    if shipped in decisions:
        decision = {**decisions[shipped].as_dict(), "tuned_on": "all leave-one-out held-out predictions of this "
                    "approach (python -m app evaluate mri-seg --update-model)"}
    table = carry_over(json.loads(summary_path.read_text()), meta.get("leave_one_out") or {})
    update_metadata("mri_seg", {"leave_one_out": table, "decision": decision})
    print(f"lab/notes/mri_seg.json: leave_one_out and decision ({decision or 'argmax'}) updated")
    if table.get("carried_over"):
        print(
            f"  approaches not evaluated in this run kept from the previous table: {', '.join(table['carried_over'])}"
        )


def _tta_views(requested: int | None) -> int:
    from app.ml.mri_inference import TTA_VIEWS

    return max(1, min(8, TTA_VIEWS if requested is None else requested))


def write_summary(results: list[CaseScore], recipes: dict[str, dict], tta_views: int = 1,
                  decisions: dict[str, Decision] | None = None,
                  command: str = "python -m app evaluate mri-seg", tag: str = "") -> Path:
    """loo_summary_path(tag): per-fold rows, per-approach means and the folds' training args
    (`train mri-seg --publish` copies it into the shipped model's metadata)."""
    def clean(v: float):
        return None if not np.isfinite(v) else round(float(v), 4)

    rows = [{"approach": r.approach, "case": r.case, "dice_endo": clean(r.dice_pool), "dice_myo": clean(r.dice_myo),
             "hd_endo_mm": clean(r.hd_endo_mm), "apd_endo_mm": clean(r.apd_endo_mm),
             "edv_ml_expert_model": [clean(v) for v in r.edv_ml], "esv_ml_expert_model": [clean(v) for v in r.esv_ml],
             "ef_pct_expert_model": [clean(v) for v in r.ef_pct], "mass_g_expert_model": [clean(v) for v in r.mass_g],
             "decision": r.decision.as_dict()}
            for r in results]
    means = {}
    for approach in APPROACHES:
        sel = [r for r in results if r.approach == approach]
        if sel:
            means[approach] = {"folds": len(sel), "dice_endo": clean(np.mean([r.dice_pool for r in sel])),
                               "dice_myo": clean(np.nanmean([r.dice_myo for r in sel])),
                               "hd_endo_mm": clean(np.mean([r.hd_endo_mm for r in sel])),
                               "apd_endo_mm": clean(np.mean([r.apd_endo_mm for r in sel])),
                               "abs_ef_error_points": clean(np.mean([abs(r.ef_pct[1] - r.ef_pct[0]) for r in sel])),
                               "abs_mass_error_pct": clean(_mass_error_pct(sel))}
    summary = {"command": command, "tta_views": tta_views, "rows": rows, "means": means,
               "decisions_all_folds": {k: d.as_dict() for k, d in (decisions or {}).items()},
               "fold_training_args": recipes,
               "note": "SC-HF-I-6 epicardial contours are misregistered and dropped: no myocardial DSC for it"}
    path = loo_summary_path(tag)
    write_json(path, summary)
    return path
