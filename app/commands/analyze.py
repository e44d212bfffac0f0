"""`cardiotrace analyze`: not yet available in this build."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    raise UsageError("the 'analyze' command is not available in this build yet")
