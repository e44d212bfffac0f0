"""Publish the ACDC cross-validation folds as the shipped short-axis model: models/mri_seg = the ensemble of
the five fold networks (mean class probability; app/ml/nets/mri_ensemble.py), as nnU-Net ships its folds.
Each member never saw one fifth of ACDC; together they saw every patient. The test-time views are shared
among the members (member i % 5 segments view i), so the ensemble costs what one network's views cost.
The metadata carries the cross-validation and Sunnybrook tables of `evaluate mri-seg --tag TAG`.
"""

from __future__ import annotations

import json
import sys

from app.ml.mri_preprocess import GRID_MM, PREPROCESSING
from lab.training.checkpoint import CHECKPOINTS_DIR
from lab.training.mri_acdc_folds import N_FOLDS, load_fold_net, run_dir

TTA_VIEWS = 4
CITATION = ("ACDC challenge training set, 80 patients (Bernard et al., IEEE TMI 37(11):2514-2525, 2018; "
            "doi:10.1109/TMI.2018.2837502), research use")


def publish(args, argv: list[str]) -> int:
    from app.ml.nets.mri_ensemble import MriEnsemble
    from lab.model_notes import publish as save_model

    nets = [load_fold_net(fold, args.tag) for fold in range(N_FOLDS)]
    in_channels = int(getattr(nets[0], "in_channels", 1)) if nets[0] is not None else 1
    missing = [str(run_dir(str(f), args.tag)) for f, n in enumerate(nets) if n is None]
    if missing:
        print(f"error: unfinished or missing folds: {', '.join(missing)}", file=sys.stderr)
        return 2
    summary_path = CHECKPOINTS_DIR / ("mri_acdc_cv" + (f"_{args.tag}" if args.tag else "")) / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    folds = sorted(int(f) for f in str(summary.get("folds", "")).split(",") if f.strip().isdigit())
    if summary and folds != list(range(N_FOLDS)):
        print(f"error: {summary_path} scores folds {summary.get('folds')!r}, not all {N_FOLDS}: run `python -m app "
              f"evaluate mri-seg --tag {args.tag}` on every fold before publishing", file=sys.stderr)
        return 2
    tables = summary.get("tables", {})
    metadata = {
        "architecture": "MriEnsemble of 5 MultiLevelConvLSTMNet(temporal=none, n_classes=4) - the per-phase "
                        "CNN of Zhang et al.'s multi-level network with dilated context blocks, one per ACDC fold"
                        + {3: "; each slice seen with its two neighbours in the stack (3 input channels)",
                           2: "; each phase seen beside the same slice's end-diastolic phase (2 input channels)"
                           }.get(in_channels, ""),
        "build": {"members": N_FOLDS, "base_channels": args.base_channels, "temporal": "none",
                  "closed_cycle": True, "n_classes": 4, "context_blocks": args.context_blocks,
                  "in_channels": in_channels},
        "input": {"kind": "whole_slice", "grid_mm": GRID_MM, "channels": in_channels, "range": "0..1",
                  "tta_views": TTA_VIEWS, "preprocessing": PREPROCESSING},
        "classes": ["background", "lv_blood_pool", "myocardium", "rv_blood_pool"],
        "training_data": CITATION + "; 5 folds over whole patients stratified by diagnostic group "
                                    "(lab/data/acdc.py stratified_folds), member k trained without fold k",
        "augmentation": "crop 128 px (160 mm) around the heart, moved up to 32 px; rotation, flip, zoom 0.7-1.4, "
                        "shift; contrast/brightness/gamma, shading, blur, noise (lab/training/mri_augment.py)"
                        + _scanner_note(args.tag),
        "loss": ("cross-entropy + soft Dice of LV pool, myocardium and RV pool (equal weights)"
                 + _boundary_note(args.tag)),
        "postprocessing": "argmax, then per phase over the stack: largest 3D LV and RV pools with holes filled, "
                          "largest myocardium touching the LV (app/ml/mri_stack_cleanup.py)",
        "temporal": ("the phase is learnt from ACDC's ED/ES pairs: each phase is segmented beside its slice's "
                     "end-diastolic phase (phase 0 of a cine or of a 2-phase stack; again with the largest LV "
                     "phase when that is elsewhere, app/ml/mri_inference.stack_labels); no cyclic ConvLSTM"
                     if in_channels == 2 else
                     "none: ACDC labels only ED and ES, so the per-phase network learns from ACDC; the cyclic "
                     "ConvLSTMs are not part of this model yet"),
        "command": _acdc_command(args.tag),
        "metrics": {"acdc_5fold_cv": {k: tables.get(k, {}) for k in ("clean", "raw")},
                    "sunnybrook_held_out_centre": summary.get("sunnybrook", []),
                    "evaluated_with": f"python -m app evaluate mri-seg --tag {args.tag} --tta-views "
                                      f"{summary.get('tta_views', TTA_VIEWS)}"},
        "previous_model": _previous_model(args.tag),
        "headline": _headline(tables.get("clean", {}).get("all", {}), summary.get("sunnybrook", [])),
    }
    metadata.update(_carried_over(args.tag, metadata["command"]))
    if nets[0].temporal != "none":
        metadata.update(_temporal_metadata(args.tag, nets[0], metadata))
    folder = save_model(MriEnsemble(nets), "mri_seg", half=True, metadata=metadata)
    print(f"published {folder}", flush=True)
    return 0


def _temporal_metadata(tag: str, net, metadata: dict) -> dict:
    """What differs for folds whose CNN got cyclic ConvLSTMs (`train mri-seg-cycles`, lab/training/mri_cycles.py):
    the build, what the temporal part learnt from and how, and the command (from fold 0's training flags)."""
    from lab.model_notes import read_metadata

    argv = _fold_argv(tag)
    source = _flag(argv, "--from", "shipped")
    levels = "1/2 and 1/4" if net.temporal == "multi" else "1/4"
    cnn = read_metadata("mri_seg") if source == "shipped" else metadata  # the record of the CNNs' training
    real_fraction = float(_flag(argv, "--real-fraction", 0.5))
    scanner_fraction = float(_flag(argv, "--scanner-fraction", 0.3))
    cycles = {"phantom": "whole phantom cine cycles labelled at every phase",
              "sunnybrook": "Sunnybrook's real cine cycles labelled at ED and ES",
              "both": f"phantom cine cycles and Sunnybrook's ({real_fraction:.0%} of the draws real)",
              }[_flag(argv, "--cycles", "phantom")]
    holdout = _flag(argv, "--holdout", "none")
    held = "" if holdout == "none" else f", {holdout} held out"
    return {
        "augmentation": f"the CNN: {cnn['augmentation']}; the ConvLSTMs: one geometry and intensity transfer per "
                        f"slice for all its phases, another scanner's degradation for {scanner_fraction:.0%} "
                        "of them, a random cycle start, and for phantom cycles a phase stride of 1 or 2",
        "training_data": f"{cnn['training_data']}; the ConvLSTMs: {cycles}{held} (lab/training/mri_cycle_data.py)",
        "loss": f"the CNN: {cnn['loss']}; the ConvLSTMs: lab/training/mri_losses.cycle_loss",
        "tried_not_kept": cnn.get("tried_not_kept", metadata.get("tried_not_kept", {})),
        "architecture": metadata["architecture"].replace("(temporal=none", f"(temporal={net.temporal}") +
        f"; cyclic ConvLSTMs at {levels} resolution over cycles of at least {net.min_cycle_phases} phases",
        "build": {**metadata["build"], "temporal": net.temporal, "min_cycle_phases": net.min_cycle_phases},
        "temporal": (f"the per-phase CNN learnt from ACDC's ED/ES slices ({source} folds); the cyclic ConvLSTMs "
                     f"at {levels} resolution, added silenced over each fold's frozen CNN, learnt from {cycles}{held} "
                     "(lab/training/mri_cycles.py; where the labels leave the class open, background or RV, scored "
                     "together and anchored to the CNN's probabilities). They run over cines of at least "
                     f"{net.min_cycle_phases} phases; a 2-phase ED/ES stack (every ACDC stack) gets the CNN alone, so "
                     "the ACDC tables are the CNN's"),
        "previous_model": _previous_model(tag) if source != "shipped" else _shipped_sha_note(),
    } | _temporal_history(argv, tag, cnn if source == "shipped" else None, source)


def _temporal_history(argv: list[str], tag: str, shipped: dict | None, source: str) -> dict:
    """The command and command history of a temporal ensemble: its CNNs' history (the `shipped` record's, or the
    command of the --from folds) and then the ConvLSTMs' command."""
    command = _fold_command("mri-seg-cycles", argv, tag)
    earlier = (shipped.get("command_history") or [shipped["command"]]) if shipped else [_acdc_command(source)]
    return {"command": command, "command_history": [*earlier, command]}


def _acdc_command(tag: str) -> str:
    """The command that trains, scores and publishes the five ACDC folds of `tag` (from fold 0's training flags)."""
    return _fold_command("mri-seg-acdc", _fold_argv(tag), tag)


def _fold_command(trainer: str, argv: list[str], tag: str) -> str:
    """`train <trainer>` with `argv` for each of the five folds, then the scoring and publishing of `tag`."""
    return (f"for k in 0 1 2 3 4; do python -m app train {trainer} --fold $k {' '.join(argv)}; done; "
            f"python -m app evaluate mri-seg --tag {tag}; python -m app train mri-seg-acdc --publish --tag {tag}")


def _flag(argv: list[str], name: str, default):
    """The value after `name` in a run's training flags, `default` when the run did not give it."""
    return argv[argv.index(name) + 1] if name in argv else default


def _shipped_sha_note() -> str:
    from app.ml.weights import read_card

    sha = read_card("mri_seg").provenance.sha256[:12]
    return (f"the same five CNNs without ConvLSTMs (sha256 {sha}..., git history of models/mri_seg; its figures in "
            "lab/notes/mri_seg.md)")


def _headline(cv_all: dict, sunnybrook: list[dict]) -> dict[str, float]:
    """The model card's headline numbers: cross-validated 3D Dice at ED/ES and LV/RV EF mean absolute error,
    and the Sunnybrook (held-out centre) endocardial and myocardial Dice (means over the patients that have them)."""
    import math

    out = {f"acdc_cv_dice_{k}": round(float(v), 3) for k, v in cv_all.get("dice", {}).items()}
    values = cv_all.get("values", {})
    for key, name in (("lv_ef_pct", "acdc_cv_lv_ef_mae_pts"), ("rv_ef_pct", "acdc_cv_rv_ef_mae_pts")):
        if key in values:
            out[name] = round(float(values[key]["mae"]), 2)
    for key, name in (("dice_endo", "sunnybrook_dice_endo"), ("dice_myo", "sunnybrook_dice_myo")):
        found = [float(r[key]) for r in sunnybrook if r.get(key) is not None and not math.isnan(float(r[key]))]
        if found:
            out[name] = round(sum(found) / len(found), 3)
    return out


def _carried_over(tag: str, command: str) -> dict:
    """What the lab record of the shipped ensemble keeps across a publish: what was tried and not kept, and, for
    folds fine-tuned from its members (--init-from-shipped), the commands that made those members before this one
    (command_history, oldest first, this run's command last)."""
    from app.ml.weights import WeightsError
    from lab.model_notes import read_metadata

    try:
        previous = read_metadata("mri_seg")
    except WeightsError:  # nothing published yet
        return {"command_history": [command]}
    earlier = previous.get("command_history") or ([previous["command"]] if previous.get("command") else [])
    history = [*earlier, command] if "--init-from-shipped" in _fold_argv(tag) else [command]
    return {"tried_not_kept": previous.get("tried_not_kept", {}), "command_history": history}


def _previous_model(tag: str) -> str:
    if "--init-from-shipped" in _fold_argv(tag):
        from app.ml.weights import read_card

        sha = read_card("mri_seg").provenance.sha256[:12]
        return (f"the five-fold ensemble these folds were fine-tuned from (sha256 {sha}..., git history of "
                "models/mri_seg; its figures in lab/notes/mri_seg.md)")
    return ("three-class crop model trained on 3 Sunnybrook patients (git history of models/mri_seg); "
            "its Sunnybrook leave-one-out: endocardial DSC 0.931, myocardial 0.782, APD 1.60 mm")


def _scanner_note(tag: str) -> str:
    """What the folds' other-scanner augmentation and warm start were, from fold 0's training flags."""
    argv = _fold_argv(tag)
    note = ""
    if "--scanner-fraction" in argv:
        note += (
            f"; in {float(_flag(argv, '--scanner-fraction', 0)):.0%} of the samples another scanner and export "
            "(mri_augment.scanner: "
            "1.25-2.8 mm pixels, coil shading, Rician noise SNR 5-25, gamma 0.6-1.6, 8-bit JPEG 40-95, "
            "wider than the evaluation profiles of lab/data/degrade_mri.py)"
        )
    if "--init-from-shipped" in argv:
        note += "; each fold fine-tuned from the same fold's member of the previous models/mri_seg"
    channels = _flag(argv, "--in-channels", "1")
    if channels == "3":
        note += ("; each slice with its two neighbours, in stack order or reversed at random (the neighbours' "
                 "first-layer weights started at zero)")
    if channels == "2":
        note += ("; each phase beside the same slice's ED phase (ED beside itself; the reference channel's "
                 "first-layer weights started at zero)")
    return note


def _boundary_note(tag: str) -> str:
    """The boundary term of the folds' training, when their run gave one (--boundary-weight)."""
    weight = float(_flag(_fold_argv(tag), "--boundary-weight", 0))
    return (f" + {weight:g} x the scale-balanced boundary loss of the three (lab/training/losses.boundary_loss)"
            if weight > 0 else "")


def _fold_argv(tag: str) -> list[str]:
    """The training flags the folds were run with (from fold 0's checkpoint), for the metadata's command."""
    from lab.training.checkpoint import load_checkpoint

    state = load_checkpoint(run_dir("0", tag) / "last.pt") or {}
    argv = list(state.get("argv", []))
    if "--fold" in argv:
        i = argv.index("--fold")
        argv = argv[:i] + argv[i + 2:]
    return argv
