"""The ACDC folds of `train mri-seg-acdc`: where the data and each fold's run live, which patients a fold
trains on, and the network of a finished fold (shared by training, evaluation and publishing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lab.data import acdc
from lab.training.checkpoint import CHECKPOINTS_DIR, load_checkpoint

if TYPE_CHECKING:  # heavy imports stay lazy
    import torch

ACDC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "acdc"
N_FOLDS = 5
N_CLASSES = 4


def run_dir(fold: str, tag: str = "") -> Path:
    return CHECKPOINTS_DIR / (f"mri_acdc_{fold}" + (f"_{tag}" if tag else ""))


def fold_patients(root: Path, fold: str) -> tuple[list[str], list[str]]:
    """(training, held-out) patient ids of a fold ('all': every patient trains, none is held out)."""
    folds = acdc.stratified_folds(acdc.groups(root), N_FOLDS)
    if fold == "all":
        return sorted(p for f in folds for p in f), []
    held = folds[int(fold)]
    return sorted(p for f in folds for p in f if p not in held), held


def build_net(args_or_build) -> "torch.nn.Module":
    """A fold's network from its training arguments or its checkpoint's "build" (the CNN alone unless the build
    names ConvLSTMs: `train mri-seg-cycles`, lab/training/mri_cycles.py)."""
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    cfg = args_or_build if isinstance(args_or_build, dict) else {
        "base_channels": args_or_build.base_channels, "context_blocks": args_or_build.context_blocks,
        "in_channels": getattr(args_or_build, "in_channels", 1)}
    return MultiLevelConvLSTMNet(int(cfg["base_channels"]), str(cfg.get("temporal", "none")), n_classes=N_CLASSES,
                                 context_blocks=int(cfg["context_blocks"]), in_channels=int(cfg.get("in_channels", 1)),
                                 min_cycle_phases=int(cfg.get("min_cycle_phases", 0)))


def load_fold_net(fold: int, tag: str):
    """The finished network of one fold, or None while its run is unfinished or absent."""
    state = load_checkpoint(run_dir(str(fold), tag) / "last.pt")
    if not state or state["step"] < state["args"]["steps"]:
        return None
    net = build_net(state["build"])
    net.load_state_dict(state["model"])
    return net.eval()
