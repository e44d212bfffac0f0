"""`cardiotrace train mri-seg-ensemble`: publish an ensemble of finished MRI runs as models/mri_seg.

The members are runs of `train mri-seg` on all three Sunnybrook patients (--holdout none) that differ only
in --seed and --tag; their class probabilities are averaged (app/ml/nets/mri_ensemble.py). The leave-one-out
table and label thresholds come from `python -m app evaluate mri-seg --tag TAG1,TAG2,...`, which scores the
same ensemble of the runs' leave-one-out folds; run it first.

    python -m app train mri-seg-ensemble --temporal multi --tags s16,s16r2
"""

from __future__ import annotations

import argparse
import sys

from app.commands.usage import OneLineParser
from lab.training.checkpoint import CHECKPOINTS_DIR
from lab.training.mri_seg import carried_tables, loo_decision, loo_summary, run_name


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train mri-seg-ensemble", description=__doc__.splitlines()[0])
    p.add_argument("--temporal", choices=("none", "single", "multi"), default="multi")
    p.add_argument("--tags", required=True, help="comma-separated run tags, one per member")
    return p


def load_members(temporal: str, tags: list[str]) -> tuple[list, list[dict]]:
    """The finished --holdout none runs of `tags` (loaded as `evaluate mri-seg` loads a fold): (networks,
    their training args). ValueError names a missing or unfinished run, or members of different builds."""
    from lab.evaluation.mri_crop_loo import fold_finished, load_fold

    nets, recipes = [], []
    for tag in tags:
        net, step, args = load_fold(temporal, "none", tag)
        path = CHECKPOINTS_DIR / run_name(temporal, "none", tag) / "last.pt"
        if net is None:
            raise ValueError(f"no run at {path} (train it with --holdout none --tag {tag})")
        if not fold_finished(step, args):
            raise ValueError(f"{path} is unfinished (step {step} of {args['steps']}); resume it first")
        nets.append(net)
        recipes.append(args)
    if len({r["base_channels"] for r in recipes}) > 1:
        raise ValueError("the members differ in --base-channels; an ensemble needs one build")
    return nets, recipes


def metadata(temporal: str, tags: list[str], recipes: list[dict], previous: dict) -> dict:
    """models/mri_seg/metadata.json of the ensemble: the first member's description, every member's recipe,
    the ensemble's leave-one-out table and thresholds (evaluate mri-seg --tag TAGS)."""
    joined = ",".join(tags)
    base = recipes[0]
    commands = [f"python -m app train mri-seg {_options(r)}" for r in recipes]
    keep = ("input", "classes", "training_data", "augmentation", "postprocessing", "comparison_note")
    return {
        **{k: previous[k] for k in keep if k in previous},
        "architecture": f"MriEnsemble of {len(tags)} MultiLevelConvLSTMNet(temporal={temporal}) - Zhang et al. "
                        "multi-level ConvLSTM, class probabilities averaged (app/ml/nets/mri_ensemble.py)",
        "build": {"base_channels": int(base["base_channels"]), "temporal": temporal, "closed_cycle": True,
                  "members": len(tags)},
        "command": f"python -m app train mri-seg-ensemble --temporal {temporal} --tags {joined}",
        "member_commands": commands,
        **carried_tables(loo_summary(joined), previous),
        **loo_decision(temporal, joined),
    }


def _options(args: dict) -> str:
    """A run's training args (the checkpoint's) as the command-line options that reproduce them."""
    out = []
    for key, value in sorted(args.items()):
        if key in ("data", "publish") or value in (None, False, ""):
            continue
        out.append(f"--{key.replace('_', '-')}" + ("" if value is True else f" {value}"))
    return " ".join(out)


def main(argv: list[str] | None = None) -> int:
    from app.ml.nets.mri_ensemble import MriEnsemble
    from lab.model_notes import notes_path, publish as save_model, read_metadata

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    tags = [t.strip() for t in args.tags.split(",") if t.strip()]
    if len(tags) < 2:
        print("error: an ensemble needs at least two --tags", file=sys.stderr)
        return 2
    try:
        nets, recipes = load_members(args.temporal, tags)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if loo_summary(",".join(tags)) is None:
        print(f"error: no leave-one-out table for this ensemble; run python -m app evaluate mri-seg --tag "
              f"{','.join(tags)} first", file=sys.stderr)
        return 2
    previous = read_metadata("mri_seg") if notes_path("mri_seg").is_file() else {}
    folder = save_model(MriEnsemble(nets), "mri_seg", metadata(args.temporal, tags, recipes, previous))
    print(f"published the ensemble of {len(tags)} runs to {folder}")
    return 0
