"""`cardiotrace evaluate mri-seg`: 5-fold cross-validation of the four-class short-axis network on ACDC.

Each fold's network (checkpoints/mri_acdc_<fold>[_TAG]/last.pt, from `train mri-seg-acdc --fold K`) segments
its held-out patients' ED and ES stacks as the app does (app/ml/mri_inference.py: whole slices, test-time
views, resampled to the scanner grid); the labels are scored on that grid against the expert labels: 3D Dice
and Hausdorff (mm) of the LV pool, myocardium and RV pool at ED and ES, and LV/RV EDV, ESV, EF and the
myocardial mass (1.05 g/ml) against ACDC's reference values (bias = ours - reference, with SD and mean
absolute error), per diagnostic group and overall. Approaches: "clean" (the shipped clean-up,
app/ml/mri_stack_cleanup.py, then the basal RV that is right atrium left out, app/ml/mri_basal_rv.py), "raw"
(argmax only) and "apex-first" (the same stack finished with its slices in the other order, as a file that stores
them apex first and says nothing of its orientation is read; scored in ACDC's order). Then the second table:
Sunnybrook, a centre no fold saw, segmented by the ensemble of the finished folds (lab/evaluation/mri_sunnybrook.py).
Writes checkpoints/mri_acdc_cv[_TAG]/summary.json, which `train mri-seg-acdc --publish` copies into the metadata
(a subset of --folds writes its own file, summary_name).
--compare-with OLD.json: how this run's per-patient errors agree with an earlier run's.
(`evaluate mri-seg-crop-loo` is the earlier crop model's Sunnybrook leave-one-out, lab/evaluation/mri_crop_loo.py.)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file
from lab.data import acdc
from lab.data.degrade_mri import PROFILES, VENDORS
from lab.evaluation.patient_agreement import format_agreement, mri_agreement, read_results
from lab.evaluation.seg_metrics import dice, hausdorff_3d_mm
from lab.training.checkpoint import CHECKPOINTS_DIR, load_checkpoint
from lab.training.mri_acdc_folds import ACDC, N_FOLDS, fold_patients, load_fold_net, run_dir

STRUCTURES = {1: "lv", 2: "myo", 3: "rv"}
DENSITY_G_PER_ML = 1.05
APPROACHES = ("clean", "raw", "apex-first")
SHIPPED = "shipped"  # --tag shipped: the fold members of models/mri_seg instead of training checkpoints


@dataclass(frozen=True)
class PatientScore:
    patient: str
    group: str
    approach: str
    dice: dict  # "lv_ed" ... "rv_es" -> 3D Dice
    hausdorff_mm: dict  # same keys -> 3D Hausdorff
    ours: dict  # lv_edv_ml, lv_esv_ml, lv_ef_pct, rv_edv_ml, rv_esv_ml, rv_ef_pct, mass_g,
    # rv_ef_expert_slices_pct (expert_slices_rv_ef)
    reference: dict


def volumes(labels: np.ndarray, voxel_ml: float) -> dict:
    """(2, S, H, W) ED/ES labels -> LV/RV EDV, ESV, EF and the ED myocardial mass."""
    out = {}
    for name, label in (("lv", 1), ("rv", 3)):
        edv, esv = (float((labels[p] == label).sum()) * voxel_ml for p in (0, 1))
        out.update({f"{name}_edv_ml": edv, f"{name}_esv_ml": esv,
                    f"{name}_ef_pct": 100.0 * (edv - esv) / edv if edv > 0 else float("nan")})
    out["mass_g"] = float((labels[0] == 2).sum()) * voxel_ml * DENSITY_G_PER_ML
    return out


def reference_values(ref: acdc.AcdcReference) -> dict:
    return {"lv_edv_ml": ref.lv_edv_ml, "lv_esv_ml": ref.lv_esv_ml, "lv_ef_pct": ref.lv_ef_pct,
            "rv_edv_ml": ref.rv_edv_ml, "rv_esv_ml": ref.rv_esv_ml, "rv_ef_pct": ref.rv_ef_pct,
            "mass_g": ref.myo_mass_g_ed * DENSITY_G_PER_ML}


def predict_patient(net, patient: acdc.AcdcPatient, tta_views: int, degrade: str = "") -> np.ndarray:
    """(2, S, H, W) argmax labels of the ED and ES stacks on the scanner grid, as the app segments them; with
    `degrade` (a profile of lab/data/degrade_mri.py, seeded by the patient number) the network sees the degraded
    copy and its labels are brought back to the scanner grid for scoring."""
    from app.ml.mri_inference import stack_labels
    from app.tasks import run_task
    from lab.data.degrade_mri import degrade_stack, mri_degradation, to_original_grid

    images, spacing = patient.images.astype(np.float32), tuple(patient.spacing_mm)
    if degrade:
        seed = int("".join(c for c in patient.patient if c.isdigit()) or 0)
        degraded, spacing = degrade_stack(images, spacing, mri_degradation(degrade, seed))
        images = degraded.astype(np.float32)
    stack = images.transpose(1, 0, 2, 3)  # (S, 2, H, W): slices of ED/ES "cines"
    out = run_task(stack_labels(net, stack, spacing, tta_views))[0].transpose(1, 0, 2, 3)  # as the app does
    return to_original_grid(out, patient.images.shape[-2:]) if degrade else out


def score(patient: acdc.AcdcPatient, labels: np.ndarray, approach: str) -> PatientScore:
    spacing = (patient.slice_spacing_mm,) + tuple(patient.spacing_mm)
    d, hd = {}, {}
    for label, name in STRUCTURES.items():
        for p, phase in ((0, "ed"), (1, "es")):
            d[f"{name}_{phase}"] = dice(labels[p], patient.labels[p], label)
            hd[f"{name}_{phase}"] = hausdorff_3d_mm(labels[p], patient.labels[p], label, spacing)
    voxel_ml = patient.voxel_volume_mm3 / 1000.0
    ours, reference = volumes(labels, voxel_ml), reference_values(patient.reference)
    ours["rv_ef_expert_slices_pct"], reference["rv_ef_expert_slices_pct"] = expert_slices_rv_ef(labels, patient.labels)
    return PatientScore(patient.patient, patient.group, approach, d, hd, ours, reference)


def expert_slices_rv_ef(labels: np.ndarray, expert: np.ndarray) -> tuple[float, float]:
    """(ours, the expert's) RV EF from the slices where the expert drew RV in each phase ((2, S, H, W) ED/ES label
    maps): our RV contours' error without our choice of which basal slices hold ventricle."""
    rv = 3
    drawn = (expert == rv).any(axis=(2, 3))  # (2, S): slices holding the expert's RV, per phase
    ours = [float((labels[p][drawn[p]] == rv).sum()) for p in (0, 1)]
    theirs = [float((expert[p] == rv).sum()) for p in (0, 1)]
    return _ef_pct(*ours), _ef_pct(*theirs)


def _ef_pct(edv: float, esv: float) -> float:
    return 100.0 * (edv - esv) / edv if edv > 0 else float("nan")


def fold_net(fold: int, tag: str):
    """The finished network of one fold (lab/training/mri_acdc_folds.load_fold_net), or with tag "shipped"
    member `fold` of the shipped ensemble (models/mri_seg; member k was trained without fold k), so the
    cross-validation can be re-run without the training checkpoints."""
    return shipped_members()[fold] if tag == SHIPPED else load_fold_net(fold, tag)


@functools.lru_cache(maxsize=1)
def shipped_members() -> list:
    """The fold networks inside the shipped MRI model, in fold order (float32 on the CPU)."""
    import torch

    from app.ml.mri_inference import MODEL_NAME
    from app.ml.nets.mri_ensemble import members_of
    from app.ml.weights import load_model

    members = members_of(load_model(MODEL_NAME, torch.device("cpu")))
    if len(members) != N_FOLDS:
        raise ValueError(f"models/{MODEL_NAME} has {len(members)} members, not the {N_FOLDS} ACDC folds")
    return [m.float().eval() for m in members]


def cv_dir(tag: str) -> Path:
    return CHECKPOINTS_DIR / ("mri_acdc_cv" + (f"_{tag}" if tag else ""))


def summary_name(degrade: str, folds: list[int]) -> str:
    """summary[_DEGRADE].json for the whole cross-validation, which `train mri-seg-acdc --publish` reads; a subset
    of the folds (a screen on fold 0) writes summary_folds0[+1...][_DEGRADE].json instead, so it never stands in
    for the 5-fold result."""
    subset = "" if sorted(folds) == list(range(N_FOLDS)) else "_folds" + "+".join(str(f) for f in sorted(folds))
    return f"summary{subset}" + (f"_{degrade}" if degrade else "") + ".json"


def cached_prediction(net, patient: acdc.AcdcPatient, tta_views: int, cache: Path, degrade: str = "") -> np.ndarray:
    """predict_patient, kept in `cache` (raw argmax labels; per fold network, number of views, degradation)."""
    path = cache / f"{patient.patient}_tta{tta_views}{'_' + degrade if degrade else ''}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["labels"]
    labels = predict_patient(net, patient, tta_views, degrade)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, labels=labels)
    return labels


def evaluate(root: Path, tag: str, tta_views: int, folds: list[int], degrade: str = ""
             ) -> tuple[list[PatientScore], list]:
    """The patients' scores (approaches clean, raw, apex-first), and the basal RV rule's end-systolic calls
    against the experts (lab/evaluation/mri_basal_calls.py)."""
    from lab.evaluation.mri_basal_calls import basal_call

    rows, calls = [], []
    for fold in folds:
        net = fold_net(fold, tag)
        if net is None:
            print(f"fold {fold}: no finished run at {run_dir(str(fold), tag)}; skipped", flush=True)
            continue
        cache = cv_dir(tag) / "predictions" / _prediction_key(fold, tag)
        for pid in fold_patients(root, str(fold))[1]:
            patient = acdc.load_patient(root, pid)
            raw = cached_prediction(net, patient, tta_views, cache, degrade)
            cleaned = finished_stack(raw)
            apex_first = finished_stack(raw[:, ::-1])[:, ::-1]
            rows += [score(patient, cleaned, "clean"), score(patient, raw, "raw"),
                     score(patient, apex_first, "apex-first")]
            calls += [c for c in [basal_call(patient, raw)] if c is not None]
            dice_ = rows[-3].dice
            print(f"fold {fold} {pid} ({patient.group}): LV {dice_['lv_ed']:.3f}/{dice_['lv_es']:.3f} "
                  f"myo {dice_['myo_ed']:.3f}/{dice_['myo_es']:.3f} RV {dice_['rv_ed']:.3f}/{dice_['rv_es']:.3f}",
                  flush=True)
    return rows, calls


def finished_stack(raw: np.ndarray) -> np.ndarray:
    """(2, S, H, W) raw ED/ES labels -> finished as the app finishes a stack (app.ml.mri_inference.finish_stack:
    the clean-up, then the basal RV that is right atrium left out)."""
    from app.ml.mri_inference import finish_stack

    return finish_stack(raw.transpose(1, 0, 2, 3))[0].transpose(1, 0, 2, 3)


def _prediction_key(fold: int, tag: str) -> str:
    """The cache folder of one fold's predictions: its training step, or the shipped weights' hash, and the
    inference that made them (app.ml.mri_inference.INFERENCE: predictions of an earlier inference are not reused)."""
    from app.ml.mri_inference import INFERENCE

    if tag == SHIPPED:
        from app.ml.mri_inference import MODEL_NAME
        from app.ml.weights import read_card

        return f"fold{fold}_sha{read_card(MODEL_NAME).provenance.sha256[:12]}_{INFERENCE}"
    return f"fold{fold}_step{load_checkpoint(run_dir(str(fold), tag) / 'last.pt')['step']}_{INFERENCE}"


def summarise(rows: list[PatientScore]) -> dict:
    """Per approach and group (and 'all'): mean Dice / Hausdorff, and bias, SD, MAE of each clinical value."""
    out: dict = {}
    for approach in APPROACHES:
        mine = [r for r in rows if r.approach == approach]
        for group in ("all",) + acdc.GROUPS:
            sel = [r for r in mine if group in ("all", r.group)]
            if not sel:
                continue
            entry = {
                "n": len(sel),
                "dice": {k: float(np.mean([r.dice[k] for r in sel])) for k in sel[0].dice},
                "hausdorff_mm": {k: float(np.median([r.hausdorff_mm[k] for r in sel])) for k in sel[0].hausdorff_mm},
                "values": {},
            }
            for key in sel[0].ours:
                err = np.array([r.ours[key] - r.reference[key] for r in sel], float)
                err = err[np.isfinite(err)]  # EF is undefined where a ventricle was not found at ED
                entry["values"][key] = {"bias": float(err.mean()) if len(err) else float("nan"),
                                        "sd": float(err.std(ddof=1)) if len(err) > 1 else 0.0,
                                        "mae": float(np.abs(err).mean()) if len(err) else float("nan"),
                                        "n": int(len(err))}
            out.setdefault(approach, {})[group] = entry
    return out


def print_tables(summary: dict) -> None:
    for approach, groups in summary.items():
        print(f"\n{approach}: 3D Dice ED/ES (median Hausdorff mm ED/ES)")
        print(f"{'group':6} {'n':>3}  {'LV':>22}  {'myocardium':>22}  {'RV':>22}")
        for group, e in groups.items():
            cells = [
                f"{e['dice'][s + '_ed']:.3f}/{e['dice'][s + '_es']:.3f} "
                f"({e['hausdorff_mm'][s + '_ed']:.1f}/{e['hausdorff_mm'][s + '_es']:.1f})"
                for s in STRUCTURES.values()
            ]
            print(f"{group:6} {e['n']:>3}  " + "  ".join(f"{c:>22}" for c in cells))
        print(f"\n{approach}: ours - reference, bias +- SD (mean absolute error)")
        keys = list(next(iter(groups.values()))["values"])
        print(f"{'group':6} " + " ".join(f"{k:>21}" for k in keys))
        for group, e in groups.items():
            print(f"{group:6} " + " ".join(
                f"{v['bias']:+6.1f}+-{v['sd']:4.1f} ({v['mae']:4.1f})".rjust(21) for v in e["values"].values()))


def sunnybrook_table(tag: str, tta_views: int, folds: list[int], cases: tuple[str, ...] = ()) -> list[dict]:
    """Sunnybrook (`cases`, default all) scored by the ensemble of the finished folds (none saw Sunnybrook, unless
    their ConvLSTMs learnt from its other patients: train mri-seg-cycles --holdout); [] without the data."""
    from app.ml.nets.mri_ensemble import MriEnsemble
    from lab.evaluation.mri_sunnybrook import CASES, SUNNYBROOK, print_table, score_case

    nets = [n for n in (fold_net(f, tag) for f in folds) if n is not None]
    if not SUNNYBROOK.is_dir() or not nets:
        return []
    ensemble = MriEnsemble(nets).eval()
    rows = [score_case(ensemble, SUNNYBROOK, case, tta_views) for case in (cases or CASES)]
    print_table(rows)
    return [asdict(r) for r in rows]


def sunnybrook_only(tag: str, tta_views: int, folds: list[int], json_path: Path | None,
                    cases: tuple[str, ...] = ()) -> int:
    rows = sunnybrook_table(tag, tta_views, folds, cases)
    if not rows:
        print("error: no Sunnybrook data or no finished fold to segment it with", file=sys.stderr)
        return 2
    summary = {"tag": tag, "tta_views": tta_views, "folds": ",".join(map(str, folds)), "sunnybrook": rows}
    write_summary(summary, cv_dir(tag) / "summary_sunnybrook.json", json_path)
    return 0


def write_summary(summary: dict, *paths: Path | None) -> None:
    """The summary as JSON in each of `paths` (None: skipped), folders made as needed."""
    for target in filter(None, paths):
        write_json(target, summary)


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="cardiotrace evaluate mri-seg", description=__doc__.splitlines()[0])
    p.add_argument("--tag", default="", help='training run tag of the fold checkpoints, or "shipped": the fold '
                   "members of models/mri_seg (no checkpoints needed)")
    p.add_argument("--degrade", default="", metavar="PROFILE[,PROFILE...]",
                   help="score copies degraded as other scanners/exports make them, each profile in turn, then one "
                        f"line per profile beside the clean run: {', '.join(PROFILES)} (lab/data/degrade_mri.py; "
                        f"vendors: {','.join(VENDORS)}); default clean")
    p.add_argument("--folds", default=",".join(str(k) for k in range(N_FOLDS)))
    p.add_argument("--tta-views", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", type=Path, default=ACDC)
    p.add_argument("--json", type=output_file, default=None, help="also write the summary here")
    p.add_argument("--no-sunnybrook", action="store_true", help="skip the Sunnybrook held-out-centre table")
    p.add_argument("--only-sunnybrook", action="store_true",
                   help="only the Sunnybrook table (whole cine cycles: what a temporal part changes; ACDC's ED/ES "
                        "pairs are no cycle), written to summary_sunnybrook.json")
    p.add_argument("--cases", default="", help="Sunnybrook: these cases only (comma-separated; default all)")
    p.add_argument("--compare-with", type=Path, default=None, metavar="JSON",
                   help="the summary of an earlier run (--json, or checkpoints/mri_acdc_cv_TAG/summary*.json): how "
                        "the patients' LV / RV EF and EDV errors agree (lab/evaluation/patient_agreement.py)")
    args = p.parse_args(argv)
    previous = read_results(args.compare_with) if args.compare_with else None
    if not args.data.is_dir():
        print(f"error: ACDC data not found at {args.data}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    profiles = [name for name in args.degrade.split(",") if name]
    if any(name not in PROFILES for name in profiles):
        print(f"error: --degrade must name profiles of {', '.join(PROFILES)}, got {args.degrade!r}", file=sys.stderr)
        return 2
    folds = [int(f) for f in args.folds.split(",")]
    cases = tuple(c for c in args.cases.split(",") if c)
    from lab.evaluation.mri_sunnybrook import CASES

    if set(cases) - set(CASES):
        print(f"error: --cases must name Sunnybrook cases ({', '.join(CASES)}), got {args.cases!r}", file=sys.stderr)
        return 2
    if args.only_sunnybrook:
        return sunnybrook_only(args.tag, args.tta_views, folds, args.json, cases)
    summaries = [run_profile(args, degrade, folds, cases, previous, profile_json(args.json, degrade, len(profiles)))
                 for degrade in profiles or [""]]
    if not all(summaries):
        print("error: no finished fold to evaluate (train mri-seg-acdc --fold K first)", file=sys.stderr)
        return 2
    if profiles:
        print("\n" + profiles_beside_clean(args.tag, folds, summaries))
    return 0


def profile_json(json_path: Path | None, degrade: str, n_profiles: int) -> Path | None:
    """--json for one profile: as given, or with several profiles one file per profile beside the named one."""
    if json_path is None or n_profiles < 2:
        return json_path
    return json_path.with_name(f"{json_path.stem}_{degrade}{json_path.suffix}")


def run_profile(args: argparse.Namespace, degrade: str, folds: list[int], cases: tuple[str, ...],
                previous: dict | None, json_path: Path | None) -> dict:
    """Score the folds on one profile ("" = clean), print its tables and write its summary (also to json_path;
    {} without a fold)."""
    rows, calls = evaluate(args.data, args.tag, args.tta_views, folds, degrade)
    if not rows:
        return {}
    from lab.evaluation.mri_basal_calls import format_calls, summarise_calls

    summary = {"tag": args.tag, "degrade": degrade, "tta_views": args.tta_views, "folds": args.folds,
               "tables": summarise(rows), "patients": [asdict(r) for r in rows],
               "basal_rv_calls": summarise_calls(calls)}
    print_tables(summary["tables"])
    print("\n" + format_calls(summary["basal_rv_calls"]))
    if previous is not None:
        print(format_agreement(mri_agreement(summary, previous)))
    if not args.no_sunnybrook and not degrade:
        summary["sunnybrook"] = sunnybrook_table(args.tag, args.tta_views, folds, cases)
    write_summary(summary, cv_dir(args.tag) / summary_name(degrade, folds), json_path)
    return summary


def profiles_beside_clean(tag: str, folds: list[int], summaries: list[dict]) -> str:
    """The per-profile table, with the clean run of the same folds first when it has been scored."""
    from lab.evaluation.mri_profiles import format_profiles, profile_row

    clean = cv_dir(tag) / summary_name("", folds)
    first = [json.loads(clean.read_text())] if clean.is_file() else []
    note = "" if first else f"\n(no clean run at {clean}: run without --degrade for the first line)"
    return format_profiles([profile_row(s) for s in first + summaries]) + note


if __name__ == "__main__":
    raise SystemExit(main())
