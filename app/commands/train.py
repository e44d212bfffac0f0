"""`cardiotrace train <target> [options]`: dispatch to a training module by target name.

Targets are a registry: name -> "module:function" where function(argv: list[str]) -> int.
Other modules add targets with `register_target` or by adding a line to TARGETS.
"""

from __future__ import annotations

import argparse
import importlib

TARGETS: dict[str, str] = {
    "echo-seg": "app.ml.training.echo_seg:main",
    "ed-es": "app.ml.training.tempreg_train:main",
    "mri-seg": "app.ml.training.mri_seg:main",
    "view": "app.ml.training.view_train:main",
}


def register_target(name: str, entry: str) -> None:
    """Add a training target: entry is 'package.module:function' taking argv and returning an exit code."""
    TARGETS[name] = entry


def _discover() -> None:
    """Optional targets owned by other helpers: app/ml/training/<module>.py with TRAIN_TARGET = (name, entry)."""
    import pkgutil

    import app.ml.training as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith(("tempreg", "flow", "view", "edes", "ed_es", "motion", "mri")):
            try:
                module = importlib.import_module(f"app.ml.training.{info.name}")
            except Exception:  # a broken optional module must not break other targets
                continue
            target = getattr(module, "TRAIN_TARGET", None)
            if target:
                TARGETS.setdefault(target[0], target[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="what to train, e.g. echo-seg (see `train list`)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of the target (--help for them)")


def resolve(name: str):
    from app.cli import UsageError

    if name not in TARGETS:
        _discover()
    if name not in TARGETS:
        raise UsageError(f"unknown training target {name!r}; known: {', '.join(sorted(TARGETS))}")
    module_name, func_name = TARGETS[name].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def run(args: argparse.Namespace) -> int:
    if args.target == "list":
        _discover()
        print("\n".join(sorted(TARGETS)))
        return 0
    try:
        return int(resolve(args.target)(list(args.rest)) or 0)
    except SystemExit as exc:  # argparse --help (0) / bad options (2) / a one-line refusal (str)
        if isinstance(exc.code, str):
            from app.cli import UsageError

            raise UsageError(exc.code) from None
        return int(exc.code or 0)
