"""`cardiotrace evaluate <target> [options]`: score a model; dispatch by target name (app/commands/registry.py)."""

from __future__ import annotations

import argparse

from app.commands import registry

TARGETS: dict[str, str] = {
    "echo-seg": "app.ml.training.echo_seg_eval:main",
    "ed-es": "app.ml.evaluation_edes:main",
    "mri-seg": "app.ml.evaluation_mri_acdc:main",
    "mri-seg-crop-loo": "app.ml.evaluation_mri:main",
    "mri-infarct": "app.ml.evaluation_mri_infarct:main",
    "strain": "app.workflow.strain_eval:main",
    "volumes": "app.workflow.volume_eval:main",
    "view": "app.ml.training.view_eval:main",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    registry.add_arguments(parser, "evaluate", "echo-seg", "evaluate")


def run(args: argparse.Namespace) -> int:
    return registry.run(TARGETS, args, "evaluation")
