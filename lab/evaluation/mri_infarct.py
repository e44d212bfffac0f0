"""`cardiotrace evaluate mri-infarct`: CNN alone vs one-level vs multi-level ConvLSTM on infarcted phantoms.

Issue 9 asks that the multi-level model be at least as good as the CNN alone on slices with thinned or
dark infarcted walls. Phantom short-axis stacks (app.data.phantom.make_mri) are rendered with 2-3
infarcted (akinetic, thinned) mid/apical segments and varied image quality, seeds INFARCT_SEED+ (never
training seeds: those come from lab.training.mri_phantom's own generators). Each approach's
leave-one-patient-out networks (checkpoints/mri_seg_<approach>_<case>, the ones `evaluate mri-seg`
scores) and the published model segment every stack as the app does (app.ml.mri_inference.segment_stack),
each approach labelling by the thresholds `evaluate mri-seg` tuned on its Sunnybrook held-out predictions
(the published model by its own metadata "decision");
reported: myocardial and blood-pool Dice over the slices holding the LV, all phases, mean over folds and
stacks, and the same Dice restricted to the slices that contain infarcted segments (mid/apical).
"""

from __future__ import annotations

import sys

import numpy as np

from app.commands.usage import OneLineParser
from lab.evaluation.seg_metrics import dice

INFARCT_SEED = 777_000
QUALITIES = ("good", "fair", "poor", "excellent")


def infarcted_stacks(n_stacks: int, seed: int = INFARCT_SEED):
    """Yield (name, PhantomCase, infarcted slice indices) for n_stacks rendered phantoms."""
    from app.data.phantom import HeartParams, MriPhantomParams, make_mri
    from app.data.phantom.segments import AHA_SEGMENTS

    rng = np.random.default_rng(seed)
    names = [s for s in AHA_SEGMENTS if s.startswith(("mid", "apical")) and s != "apex"]
    for k in range(n_stacks):
        infarct = tuple(str(s) for s in rng.choice(names, size=int(rng.integers(2, 4)), replace=False))
        edv = float(rng.uniform(120, 240))
        heart = HeartParams(edv_ml=edv, esv_ml=edv * (1 - rng.uniform(0.2, 0.45)), infarct=infarct,
                            heart_rate_bpm=float(rng.uniform(55, 90)))
        params = MriPhantomParams(heart=heart, n_phases=20, n_slices=10, pixel_mm=1.4, image_px=192,
                                  quality=QUALITIES[k % len(QUALITIES)])
        case = make_mri(params, seed=seed + k)
        yield f"infarct{k}:{'+'.join(infarct)}", case, _infarct_slices(case, infarct)


def _infarct_slices(case, infarct: tuple[str, ...]) -> tuple[int, ...]:
    """Slices of the LV in the thirds (mid, apical) holding infarcted segments, base first."""
    lv = np.flatnonzero((case.truth.labels == 2).any(axis=(1, 2, 3)))
    if lv.size == 0:
        return ()
    thirds = np.array_split(lv, 3)  # basal, mid, apical
    out: list[int] = []
    for level, part in (("mid", thirds[1]), ("apical", thirds[2])):
        if any(s.startswith(level) for s in infarct):
            out += [int(s) for s in part]
    return tuple(out)


def score_stack(labels: np.ndarray, truth: np.ndarray, infarct_slices) -> dict:
    """Myocardial / pool Dice over all LV slices and over the infarcted ones ((S, T, H, W) label maps)."""
    lv = np.flatnonzero((truth > 0).any(axis=(1, 2, 3)))
    inf = [s for s in infarct_slices if s in set(lv)]
    out = {"myo": dice(labels[lv], truth[lv], 2), "pool": dice(labels[lv], truth[lv], 1)}
    out["myo_infarct"] = dice(labels[inf], truth[inf], 2) if inf else float("nan")
    return out


def _networks(tag: str = ""):
    """(approach title, [nets], decision, whole_slice) for each approach's folds (runs of `train mri-seg --tag
    TAG`: the 128 px crop models), plus the published model (decision and preprocessing None: its metadata's)."""
    from lab.evaluation.mri_crop_loo import APPROACHES, fold_finished, load_fold
    from lab.training.mri_seg import CASES

    for approach, title in APPROACHES.items():
        nets = [net for net, step, args in (load_fold(approach, case, tag) for case in CASES)
                if net is not None and fold_finished(step, args)]
        if nets:
            yield f"{title} (LOO folds)", nets, _loo_decision(approach, tag), False
    from app.ml.mri_inference import load_mri_model

    try:
        yield "published models/mri_seg", [load_mri_model()], None, None
    except Exception as exc:  # noqa: BLE001 - report and go on with the folds
        print(f"published model unavailable: {exc}", file=sys.stderr)


def _loo_decision(approach: str, tag: str = ""):
    """The approach's thresholds from checkpoints/mri_seg_loo[_TAG]/summary.json (argmax when not evaluated)."""
    from lab.training.mri_decision import Decision
    from lab.training.mri_seg import loo_decision

    return Decision.from_metadata(loo_decision(approach, tag))


def main(argv: list[str] | None = None) -> int:
    from lab.training.mri_crop_inference import segment_stack

    parser = OneLineParser(prog="cardiotrace evaluate mri-infarct", description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=4, help="infarcted phantom stacks")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--tag", default="", help="the LOO fold runs of `train mri-seg --tag TAG`")
    parser.add_argument("--update-model", action="store_true",
                        help="write the table into the lab record lab/notes/mri_seg.json (infarct_phantom_comparison)")
    args = parser.parse_args(argv)
    if args.stacks < 1:
        raise SystemExit("--stacks must be at least 1")
    if args.threads:
        from app.ml.device import set_threads

        set_threads(args.threads)
    stacks = list(infarcted_stacks(args.stacks))
    for name, _, slices in stacks:
        print(f"{name}: infarcted slices {list(slices)}")
    print(f"\n{'approach':<34}{'DSC myo':>9}{'DSC pool':>10}{'DSC myo, infarct slices':>25}")
    table: dict[str, dict[str, float]] = {}
    for title, nets, decision, whole_slice in _networks(args.tag):
        rows = []
        for net in nets:
            for _, case, slices in stacks:
                result = None
                for item in segment_stack(case.recording, net=net, decision=decision, whole_slice=whole_slice):
                    result = item if hasattr(item, "labels") else result
                rows.append(score_stack(np.asarray(result.labels), case.truth.labels, slices))
        mean = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        print(f"{title:<34}{mean['myo']:>9.3f}{mean['pool']:>10.3f}{mean['myo_infarct']:>25.3f}")
        table[_key(title)] = mean
    if args.update_model and table:
        from lab.model_notes import read_metadata, update_metadata

        previous = read_metadata("mri_seg").get("infarct_phantom_comparison") or {}
        update_metadata("mri_seg", {"infarct_phantom_comparison": merge_record(metadata_record(table, args), previous)})
        print("lab/notes/mri_seg.json: infarct_phantom_comparison updated")
    return 0


def _key(title: str) -> str:
    """'CNN alone (LOO folds)' -> 'cnn_alone_loo', 'multi-level ConvLSTM (LOO folds)' -> 'multi_level_loo',
    'published models/mri_seg' -> 'published'."""
    if title.startswith("published"):
        return "published"
    name = title.replace(" ConvLSTM", "").replace(" (LOO folds)", "_loo")
    return name.replace("-", "_").replace(" ", "_").lower()


def metadata_record(table: dict[str, dict[str, float]], args) -> dict:
    """The metadata form of the table: one dict per score, keyed by approach, rounded to 3 decimals."""
    def column(key: str) -> dict[str, float]:
        return {name: round(float(row[key]), 3) for name, row in table.items()}

    command = f"python -m app evaluate mri-infarct --stacks {args.stacks}" + (
        f" --threads {args.threads}" if args.threads else "") + (f" --tag {args.tag}" if args.tag else "")
    return {"command": command, "stacks": args.stacks, "dsc_myo_all_lv_slices": column("myo"),
            "dsc_pool": column("pool"), "dsc_myo_infarct_slices": column("myo_infarct")}


def merge_record(new: dict, previous: dict) -> dict:
    """`new`, plus the approaches of a `previous` record with the same number of stacks that `new` did not
    score (their folds were not on this machine), named under "carried_over" with the command that scored them."""
    if not previous or previous.get("stacks") != new.get("stacks"):
        return new
    scores = [k for k, v in new.items() if isinstance(v, dict) and k != "carried_over"]
    kept = sorted(set(previous.get(scores[0], {})) - set(new[scores[0]])) if scores else []
    if not kept:
        return new
    out = {**new, **{k: {**new[k], **{a: previous[k][a] for a in kept if a in previous.get(k, {})}} for k in scores}}
    out["carried_over"] = {a: previous.get("carried_over", {}).get(a, previous.get("command", "")) for a in kept}
    return out
