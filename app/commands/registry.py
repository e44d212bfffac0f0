"""Dispatch of `train <target>` and `evaluate <target>`: a registry of name -> "module:function", where
function(argv: list[str]) -> int. The module is imported only when its target runs (torch stays lazy)."""

from __future__ import annotations

import argparse
import importlib


def add_arguments(parser: argparse.ArgumentParser, what: str, example: str, command: str) -> None:
    parser.add_argument("target", help=f"what to {what}, e.g. {example} (`{command} list` shows all)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of the target (--help for them)")


def resolve(targets: dict[str, str], name: str, kind: str):
    """The entry function of target `name`; UsageError (exit 2) naming the known ones when there is none."""
    from app.cli import UsageError

    if name not in targets:
        raise UsageError(f"unknown {kind} target {name!r}; known: {', '.join(sorted(targets))}")
    module_name, func_name = targets[name].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def run(targets: dict[str, str], args: argparse.Namespace, kind: str) -> int:
    """`list` prints the targets; else the target runs with the remaining arguments."""
    from app.cli import UsageError

    if args.target == "list":
        print("\n".join(sorted(targets)))
        return 0
    try:
        return int(resolve(targets, args.target, kind)(list(args.rest)) or 0)
    except SystemExit as exc:  # argparse --help (0) / bad options (2) / a one-line refusal (str)
        if isinstance(exc.code, str):
            raise UsageError(exc.code) from None
        return int(exc.code or 0)
