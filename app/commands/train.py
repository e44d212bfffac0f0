"""`cardiotrace train <target> [options]`: dispatch to a training module by target name (app/commands/registry.py)."""

from __future__ import annotations

import argparse

from app.commands import registry

TARGETS: dict[str, str] = {
    "echo-seg": "lab.training.echo_seg:main",
    "echo-clip-ef": "lab.training.echo_clip_ef:main",
    "ed-es": "lab.training.tempreg_train:main",
    "mri-seg": "lab.training.mri_seg:main",
    "mri-seg-ensemble": "lab.training.mri_ensemble:main",
    "mri-seg-acdc": "lab.training.mri_acdc:main",
    "mri-seg-cycles": "lab.training.mri_cycles:main",
    "motion": "lab.training.flow_train:main",
    "view": "lab.training.view_train:main",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    registry.add_arguments(parser, "train", "echo-seg", "train")


def run(args: argparse.Namespace) -> int:
    return registry.run(TARGETS, args, "training")
