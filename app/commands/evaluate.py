"""`cardiotrace evaluate <target> [options]`: score a model; dispatch by target name.

Targets are a registry: name -> "module:function" where function(argv: list[str]) -> int.
Other modules add entries with `register_target` or a line in TARGETS.
"""

from __future__ import annotations

import argparse
import importlib

TARGETS: dict[str, str] = {
    "echo-seg": "app.ml.training.echo_seg_eval:main",
    "ed-es": "app.ml.evaluation_edes:main",
    "mri-seg": "app.ml.evaluation_mri:main",
    "mri-infarct": "app.ml.evaluation_mri_infarct:main",
    "strain": "app.workflow.strain_eval:main",
    "volumes": "app.workflow.volume_eval:main",
    "view": "app.ml.training.view_eval:main",
}


def register_target(name: str, entry: str) -> None:
    """Add an evaluation target: entry is 'package.module:function' taking argv and returning an exit code."""
    TARGETS[name] = entry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="what to evaluate, e.g. echo-seg (`evaluate list` shows all)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of the target (--help for them)")


def resolve(name: str):
    from app.cli import UsageError

    if name not in TARGETS:
        raise UsageError(f"unknown evaluation target {name!r}; known: {', '.join(sorted(TARGETS))}")
    module_name, func_name = TARGETS[name].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def run(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    if args.target == "list":
        print("\n".join(sorted(TARGETS)))
        return 0
    try:
        return int(resolve(args.target)(list(args.rest)) or 0)
    except SystemExit as exc:  # argparse --help (0) / bad options (2) / a one-line refusal (str)
        if isinstance(exc.code, str):
            raise UsageError(exc.code) from None
        return int(exc.code or 0)
