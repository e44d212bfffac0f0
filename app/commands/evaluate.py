"""`cardiotrace evaluate <target> [options]`: score a model; dispatch by target name (app/commands/registry.py)."""

from __future__ import annotations

import argparse

from app.commands import registry

TARGETS: dict[str, str] = {
    "echo-seg": "lab.evaluation.echo_seg:main",
    "echo-files": "lab.evaluation.echo_files:main",
    "echo-clips": "lab.evaluation.echo_clips:main",
    "ed-es": "lab.evaluation.edes:main",
    "mri-seg": "lab.evaluation.mri_acdc:main",
    "mri-seg-crop-loo": "lab.evaluation.mri_crop_loo:main",
    "mri-infarct": "lab.evaluation.mri_infarct:main",
    "propagation": "lab.evaluation.propagation:main",
    "strain": "lab.evaluation.strain:main",
    "volumes": "lab.evaluation.volumes:main",
    "view": "lab.evaluation.view:main",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    registry.add_arguments(parser, "evaluate", "echo-seg", "evaluate")


def run(args: argparse.Namespace) -> int:
    return registry.run(TARGETS, args, "evaluation")
