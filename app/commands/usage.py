"""`UsageError`: bad input from the user on the command line, printed on one line with exit code 2 by app.cli;
`check_output_targets`: the outputs a command will write, checked before its long work.

Its own module so that the subcommands raise it without importing app.cli, which imports them by name."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path


class UsageError(Exception):
    """Bad input from the user: printed on one line, exit code 2."""


def check_output_targets(files: Mapping[str, str | None], folders: Mapping[str, str | None]) -> None:
    """Before a long command (an analysis, a retrieval): every output can be written where the options say (its
    folder exists and is writable, or can be made), else UsageError naming the option now rather than after the
    work; a file option naming a folder is refused too. `files` and `folders` map an option ("--json") to its
    value (None when not given; "-" is stdout)."""
    from app.report.cli_hooks import unwritable_reason

    for option, value in files.items():
        if value and value != "-" and Path(value).is_dir():
            raise UsageError(f"{option}: {value} is a folder; give a file name")
    wanted = [(o, Path(v).parent) for o, v in files.items() if v and v != "-"]
    wanted += [(o, Path(v)) for o, v in folders.items() if v]
    for option, folder in wanted:
        if reason := unwritable_reason(folder):
            raise UsageError(f"{option}: cannot write in {folder}: {reason}")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad option on one line with exit code 2, without the usage text (--help has it):
    the parser of every `train` and `evaluate` target and lab tool."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}\n")
