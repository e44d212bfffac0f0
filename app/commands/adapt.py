"""`cardiotrace adapt echo-seg [--studies DIR] [--steps N] [--json FILE]`: a site model from the site's corrections.

Collects the frames corrected or confirmed by hand in the saved studies (app/workflow/site_corrections.py; the
autosave folder by default), fine-tunes the shipped echo U-Net on some patients' frames and checks it against the
shipped one on the others (app/ml/site_adapt.py). An accepted model goes to the user's site folder and the viewer
uses it from the next analysis (it can be switched back there); a refused one is not written, and the reason is
printed. Exit 0 either way; 2 when the studies cannot make a site model at all (none found, one patient).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.paths import write_json
from app.report.cli_hooks import output_file, positive_int

TARGETS = ("echo-seg",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="the model to adapt: echo-seg (the echo LV, myocardium and LA U-Net)")
    parser.add_argument("--studies", type=Path, default=None,
                        help="folder of saved studies (*.cardiotrace.json); default: the viewer's autosave folder")
    parser.add_argument("--steps", type=positive_int, default=300, help="fine-tuning steps (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the patient split and the training")
    parser.add_argument("--json", type=output_file, default=None, help="also write the outcome here")


def run(args: argparse.Namespace) -> int:
    from app.commands.usage import UsageError
    from app.ml.site_adapt import AdaptError, adapt_site_model
    from app.ml.site_model import site_root
    from app.ml.weights import read_card
    from app.report.cli_hooks import unwritable_reason
    from app.workflow.autosave import user_data_dir
    from app.workflow.site_corrections import collect_corrections
    from app.workflow.terminal_progress import run_with_bar

    if args.target not in TARGETS:
        raise UsageError(f"adapt: unknown target {args.target!r}; known: {', '.join(TARGETS)}")
    if args.steps < 1:
        raise UsageError("adapt: --steps must be at least 1")
    folder = args.studies or user_data_dir()
    if not folder.is_dir():
        raise UsageError(f"adapt: no folder of saved studies at {folder}")
    if reason := unwritable_reason(site_root()):  # said now, not after the training, whose model it would lose
        raise UsageError(f"adapt: cannot write the site model to {site_root()}: {reason} (set CARDIOTRACE_SITE_DIR)")
    size = int(read_card("echo_seg_base").preprocessing.input_size_px or 128)
    corrections = run_with_bar(collect_corrections(folder, size), sys.stderr, "corrections")
    _print_corrections(corrections)
    if not corrections.frames:
        raise UsageError(f"adapt: no corrected or confirmed echo frames in the studies under {folder}")
    try:
        outcome = run_with_bar(adapt_site_model(corrections, steps=args.steps, seed=args.seed), sys.stderr,
                               "site model")
    except AdaptError as exc:
        raise UsageError(f"adapt: {exc}") from None
    _print_outcome(outcome)
    if args.json is not None:
        write_json(args.json, outcome_json(corrections, outcome), indent=2)
    return 0


def _print_corrections(c) -> None:
    print(f"{len(c.frames)} frames from {c.studies} studies of {len(c.patients)} patients "
          f"({c.count('hand')} corrected by hand, {c.count('propagated')} propagated, "
          f"{c.count('confirmed')} confirmed ED/ES)")
    for name, why in c.skipped:
        print(f"  left out {name}: {why}")


def _print_outcome(o) -> None:
    print(f"trained on {o.train_frames} frames of {len(o.train_patients)} patients, {o.steps} steps, "
          f"{o.seconds:.0f} s; checked on {o.site.frames} frames of {len(o.heldout_patients)} other patients")
    print("Dice on held-out patients    LV     myocardium  LA     mean")
    for name, s in (("shipped model", o.shipped), ("site model", o.site)):
        print(f"  {name:<26} {s.lv:.3f}  {s.myocardium:.3f}       {s.la:.3f}  {s.mean:.3f}")
    print(o.reason)
    if o.folder is not None:
        print(f"site model written to {o.folder}; the viewer uses it from the next analysis "
              "(Analysis menu: switch back to the shipped model)")


def outcome_json(corrections, o) -> dict:
    score = lambda s: {"dice_lv": s.lv, "dice_myocardium": s.myocardium, "dice_la": s.la,  # noqa: E731
                       "dice_mean": s.mean, "frames": s.frames}
    return {
        "accepted": o.accepted, "reason": o.reason, "folder": str(o.folder) if o.folder else None,
        "studies": corrections.studies, "patients": len(corrections.patients), "frames": len(corrections.frames),
        "frames_by_source": {k: corrections.count(k) for k in ("hand", "propagated", "confirmed")},
        "skipped": [{"study": n, "why": w} for n, w in corrections.skipped],
        "train_patients": list(o.train_patients), "heldout_patients": list(o.heldout_patients),
        "steps": o.steps, "seconds": round(o.seconds, 1),
        "shipped": score(o.shipped), "site": score(o.site),
    }
