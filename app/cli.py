"""Command line: `python -m app [PATH]` opens the viewer; subcommands run without a window.

Exit codes: 0 success, 2 bad input (one clear line on stderr), 1 a bug (one line naming the exception;
CARDIOTRACE_DEBUG=1 prints the traceback too).
Each subcommand lives in `app/commands/<name>.py` with `add_arguments(parser)` and `run(args) -> int`;
they are imported only when called, so `--help` and the GUI start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import traceback

from app import __version__
from app.commands.usage import UsageError

SUBCOMMANDS = {
    "info": "print what the reader finds in a file or folder",
    "analyze": "analyze recordings: volumes, EF, ED/ES, strain; JSON, masks, PDF report",
    "phantom": "write a synthetic recording with exact ground truth",
    "evaluate": "score the models on validation data (echo-clips, echo-seg, mri-seg, ...: `evaluate list`)",
    "train": "train a model (echo-seg, echo-clip-ef, mri-seg-acdc, ...: `train list`)",
    "pacs": "query and retrieve from a PACS node (echo, find, get)",
    "adapt": "fine-tune the echo model on this site's corrected studies (offered only if it checks better)",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other bad input
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cardiotrace", description="CardioTrace: echo and cine MRI LV analysis")
    parser.add_argument("--version", action="version", version=f"cardiotrace {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    gui = sub.add_parser("open", help="open the viewer (the default when no subcommand is given)")
    gui.add_argument("paths", nargs="*", help="recordings or folders to open")
    for name, help_text in SUBCOMMANDS.items():
        module = importlib.import_module(f"app.commands.{name}")
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _with_command(argv) -> list[str]:
    """argv with the subcommand first: `open` (the viewer) when none is given."""
    argv = list(argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("open", "-h", "--help", "--version")):
        argv = ["open", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    from app.data.errors import LoadError

    argv = _with_command(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "open":
            _refuse_misspelled_command(args.paths)
            if why := _no_screen():
                raise UsageError(why)
            from app.ui.main import run_gui

            return run_gui(args.paths)
        module = importlib.import_module(f"app.commands.{args.command}")
        return int(module.run(args) or 0)
    except (UsageError, LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if not exc.args:  # one raised with its message has said it (a batch: how to resume)
            print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `info ... | head`: the reader has what it wanted; no message, no flush error at exit
        _stdout_to_devnull()
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug: one line, never a bare traceback in front of the user
        if os.environ.get("CARDIOTRACE_DEBUG") == "1":
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"internal error (a bug, please report it): {type(exc).__name__}: {message}", file=sys.stderr)
        return 1


def _refuse_misspelled_command(paths: list[str]) -> None:
    """`cardiotrace anaylze x.dcm` had opened the viewer on a file named 'anaylze' (headless: 'no display found'):
    a first word that is no file or folder and reads like a command is refused, naming the command."""
    import difflib

    first = paths[0] if paths else ""
    if not first or os.path.exists(first) or os.sep in first or "." in first:
        return
    close = difflib.get_close_matches(first, [*SUBCOMMANDS, "open"], n=1, cutoff=0.7)
    if close:
        raise UsageError(f"unknown command {first!r}: did you mean {close[0]!r}? (`cardiotrace --help` lists them)")


def _no_screen() -> str:
    """Why the viewer cannot open a window here ("" when it can): on Linux without a display and no Qt platform
    chosen, Qt aborts the process (exit 134) with lines about reinstalling the application."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return ""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    return ("no display found: the viewer needs a screen (headless: xvfb-run -a python -m app FILE, or "
            "python -m app analyze FILE --json - for no window)")


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (a test's capture): nothing will flush into the pipe
        pass


def entry_point() -> int:
    """The process's entry (`python -m app`, the `cardiotrace` script, the bundle): `main`; after a command
    without a window, `gc.freeze()` so the interpreter's exit does not walk torch's ~165 000 objects with the
    cycle collector again: 0.3-0.8 s of every `analyze` run after its output was written (issue 33). The
    process ending frees everything; atexit handlers and the flushing of stdout / stderr still run. The
    viewer exits as before (Qt's objects are destroyed in their order). Not in `main`: tests call that in
    one long process."""
    argv = _with_command(sys.argv[1:])
    from app.ml.onnx_step import load_runtime_for_long_command_line

    load_runtime_for_long_command_line(sys.orig_argv)
    code = main(argv)
    if argv[0] != "open":
        gc.freeze()
    return code
