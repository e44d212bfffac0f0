"""Dispatch of `train <target>` and `evaluate <target>`: a registry of name -> "module:function", where
function(argv: list[str]) -> int. The module is imported only when its target runs (torch stays lazy). The
targets live in the lab (lab/), which a source checkout has and the installed bundle does not: there a
target exits 2 saying so."""

from __future__ import annotations

import argparse
import importlib


def add_arguments(parser: argparse.ArgumentParser, what: str, example: str, command: str) -> None:
    parser.add_argument("target", help=f"what to {what}, e.g. {example} (`{command} list` shows all)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of the target (--help for them)")


def resolve(targets: dict[str, str], name: str, kind: str):
    """The entry function of target `name`; UsageError (exit 2) naming the known ones when there is none."""
    from app.commands.usage import UsageError

    if name not in targets:
        raise UsageError(f"unknown {kind} target {name!r}; known: {', '.join(sorted(targets))}")
    module_name, func_name = targets[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in ("lab", module_name.rsplit(".", 1)[0]) and exc.name != module_name:
            raise
        raise UsageError(f"{kind} target {name!r} runs from a source checkout: the lab ({module_name}) is not "
                         "part of the installed app") from None
    return getattr(module, func_name)


def run(targets: dict[str, str], args: argparse.Namespace, kind: str) -> int:
    """`list` prints the targets; else the target runs with the remaining arguments."""
    from app.commands.usage import UsageError

    if args.target == "list":
        print("\n".join(sorted(targets)))
        return 0
    try:
        return int(resolve(targets, args.target, kind)(list(args.rest)) or 0)
    except SystemExit as exc:  # argparse --help (0) / bad options (2) / a one-line refusal (str)
        if isinstance(exc.code, str):
            raise UsageError(exc.code) from None
        return int(exc.code or 0)
