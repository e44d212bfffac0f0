"""The report/export/batch options of `cardiotrace analyze`, kept here so analyze.py only calls in.

analyze.py calls, in a clearly marked block:
- `add_arguments(parser)` once, when it builds its parser;
- `is_batch(args)`: True with `--out DIR`; then `run_batch_command(args)` does the whole run (reading,
  analysis, exports, summary) and returns the exit code;
- otherwise, after it has the analyses of the study: `study_report(args, analyses, study)` composes the
  one report (conclusion, reviewer, every value) that `write_outputs(args, analyses, report)` writes as the
  PDF (`--report`), measurements CSV/JSON, contours, cine, and that --send / --dicom-out send.
Bad options raise `OptionError` (app/report may not import app.cli): analyze.py re-raises it as UsageError.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from app.report.exporter import EXPORT_KINDS

OUTPUT_OPTIONS = {"pdf": "report", "csv": "csv", "json": "measurements", "contours": "contours", "cine": "cine"}


class OptionError(ValueError):
    """Bad report/batch options or file names; analyze.py turns it into app.commands.usage.UsageError (exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("report, exports and batch")
    group.add_argument("--report", metavar="OUT.pdf", help="write the PDF report of the analyzed recordings")
    group.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="PDF page size (default A4)")
    group.add_argument("--anonymise", "--anonymize", action="store_true",
                       help="leave patient name, ID, birth date and institution out of reports and exports")
    group.add_argument("--comment", default="", help="the conclusion printed on page 1 of the report")
    group.add_argument("--reviewer", default="", help="the reviewer's name beside the signature line")
    group.add_argument("--csv", metavar="OUT.csv", help="measurements as CSV (one row per recording and per beat)")
    group.add_argument("--measurements", metavar="OUT.json", help="measurements as printed in the report, JSON")
    group.add_argument("--contours", metavar="OUT.json", help="per-frame contours (x=col, y=row px) as JSON")
    group.add_argument("--cine", metavar="OUT.mp4", help="annotated cine with contours (.mp4, .avi or .gif)")
    group.add_argument("--out", metavar="DIR", help="batch mode: analyze every recording in the given files "
                       "and folders one by one, write per-file results + summary.csv to DIR, resume if re-run")
    group.add_argument("--workers", type=worker_count, default=None, metavar="N",
                       help="batch mode: analyze on a local Dask cluster of N processes (one recording per task)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="batch mode: join the Dask cluster at ADDRESS (e.g. tcp://host:8786) instead")
    group.add_argument("--exports", default=None, metavar="LIST",
                       help=f"batch mode: what to write per recording, comma-separated from "
                            f"{','.join(EXPORT_KINDS)} (default pdf; 'none' for results only)")


def unwritable_reason(folder: Path) -> str:
    """Why nothing can be written in `folder` (made where missing), "" when it can: the first part of it that exists
    must be a writable folder."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return ""


def output_file(text: str) -> Path:
    """argparse type of a file a long command writes when it ends (an evaluation's --json): refused now, not after
    the run, when its folder cannot be made or written."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    reason = unwritable_reason(path.parent)
    if reason:
        raise argparse.ArgumentTypeError(f"cannot write {path}: {reason}")
    return path


def positive_int(text: str) -> int:
    """argparse type of a count (--workers, a trainer's --steps): a whole number of 1 or more."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type of a whole number of 0 or more (phantom --seed: numpy refuses a negative seed naming no
    option)."""
    return _whole_number(text, 0)


def _whole_number(text: str, minimum: int) -> int:
    if not text.isdigit() or int(text) < minimum:
        raise argparse.ArgumentTypeError(f"must be a whole number of {minimum} or more, got {text!r}")
    return int(text)


# local worker processes: each loads the networks (several hundred MB); far past the cores they only wait
MAX_LOCAL_WORKERS = 4 * (os.cpu_count() or 1)


def worker_count(text: str) -> int:
    """argparse type of --workers: 1 to MAX_LOCAL_WORKERS local processes (999999 hung starting them)."""
    count = positive_int(text)
    if count > MAX_LOCAL_WORKERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_LOCAL_WORKERS} local workers on this machine "
                                         f"({os.cpu_count()} cores), got {count}")
    return count


def is_batch(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "out", None))


def _exports(text: str | None) -> tuple[str, ...]:
    kinds = tuple(k.strip().lower() for k in ("pdf" if text is None else text).split(",") if k.strip())
    if not kinds:  # `--exports ''` (an empty shell variable) had meant the default silently
        raise OptionError(f"--exports: give one or more of {', '.join(EXPORT_KINDS)}, or none")
    if kinds == ("none",):
        return ()
    bad = [k for k in kinds if k not in EXPORT_KINDS]
    if bad:
        raise OptionError(f"--exports: unknown kind {', '.join(bad)}; choose from {', '.join(EXPORT_KINDS)} or none")
    return kinds


def _check_suffix(value: str | None, option: str, suffixes: tuple[str, ...]) -> None:
    if value and not value.lower().endswith(suffixes):
        raise OptionError(f"{option} {value}: the file name must end with {' or '.join(suffixes)}")


def validate(args: argparse.Namespace) -> None:
    """OptionError (exit 2) for option combinations or file names that cannot work."""
    _check_suffix(args.report, "--report", (".pdf",))
    _check_suffix(args.csv, "--csv", (".csv",))
    _check_suffix(args.cine, "--cine", (".mp4", ".avi", ".gif"))
    if is_batch(args):
        per_study = [o for o in ("report", "csv", "measurements", "contours", "cine") if getattr(args, o, None)]
        if per_study:
            raise OptionError(f"--out (batch) writes per-file outputs itself; drop --{per_study[0]} "
                             "(choose what to write with --exports)")
        single = [f"--{o}" for o, attr in (("json", "json_out"), ("masks", "masks"), ("labels", "labels"),
                                             ("series", "series")) if getattr(args, attr, None)]
        if single:
            raise OptionError(f"--out (batch) cannot be combined with {single[0]}; "
                              "per-file results go to DIR (choose extra files with --exports)")
        views = getattr(args, "view", None)
        if isinstance(views, (list, tuple)) and len(views) > 1:
            raise OptionError("--out (batch): give --view at most once (it applies to every recording)")
        if getattr(args, "workers", None) and getattr(args, "scheduler", None):
            raise OptionError("give --workers (a local cluster) or --scheduler (an existing one), not both")
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise OptionError(f"--out {out}: exists and is not a folder")
        _exports(args.exports)
    elif getattr(args, "workers", None) or getattr(args, "scheduler", None):
        raise OptionError("--workers and --scheduler run a batch: give --out DIR")
    elif getattr(args, "exports", None) is not None:
        raise OptionError("--exports chooses a batch's files: give --out DIR (for one study: --report, --csv, "
                          "--measurements, --contours, --cine)")


def analysis_options(args: argparse.Namespace):
    """The analysis options of `analyze` (view, body size, sex, network, strain), the same for one file and --out."""
    from app.ml import DEFAULT_ECHO_MODEL
    from app.workflow.analyze import AnalysisOptions

    view = getattr(args, "view", None)
    view = view[0] if isinstance(view, (list, tuple)) and view else view
    return AnalysisOptions(view=view or None, height_cm=getattr(args, "height_cm", None),
                           weight_kg=getattr(args, "weight_kg", None), sex=getattr(args, "sex", None) or "",
                           model=getattr(args, "model", DEFAULT_ECHO_MODEL),
                           hysteresis=getattr(args, "hysteresis", 0.0), strain=not getattr(args, "no_strain", False))


def run_batch_command(args: argparse.Namespace, paths=None, analyze=None, stream=None) -> int:
    """The whole batch run; exit 0 when every recording succeeded or was left out (a colour Doppler clip), 2 when
    some failed (see summary).

    analyze(item, on_progress) -> RecordingAnalysis replaces the whole per-file analysis (tests); by default
    the one analysis (app.workflow.analyze) with `analysis_options(args)`."""
    from app.report.exporter import ExportOptions, batch_export
    from app.workflow.batch import default_analyze, run_batch
    from app.workflow.batch_inputs import collect_inputs

    validate(args)
    paths = list(paths if paths is not None else _paths_of(args))
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise OptionError(f"no such file or folder: {missing[0]}")
    out_dir = Path(args.out)
    items = collect_inputs(paths, exclude=out_dir)
    if not items:
        raise OptionError("no recordings found in the given files and folders")
    options = analysis_options(args)
    analyze = analyze or default_analyze(options)
    exports = ExportOptions(_exports(args.exports), args.anonymise, args.comment, getattr(args, "reviewer", ""),
                            args.page_size)
    export = batch_export(exports)
    settings = {"analysis": dataclasses.asdict(options), "exports": dataclasses.asdict(exports)}  # resumed alike
    stream = stream if stream is not None else sys.stderr
    try:
        summary = run_batch(items, out_dir, analyze, export, stream=stream, workers=getattr(args, "workers", None),
                            scheduler=getattr(args, "scheduler", None), settings=settings)
    except ConnectionError as exc:  # --scheduler: no cluster there
        raise OptionError(str(exc)) from None
    except OSError as exc:  # the output folder itself cannot be written
        raise OptionError(f"--out {out_dir}: cannot write {exc.filename or 'there'}: {exc.strerror or exc}") from None
    left_out = f"{len(summary.left_out)} left out (why: summary.csv), " if summary.left_out else ""
    stream.write(f"{len(summary.done)} analyzed, {len(summary.skipped)} already done, {left_out}"
                 f"{len(summary.failed)} failed; summary: {summary.summary_csv}\n")
    return 2 if summary.failed else 0


def _paths_of(args: argparse.Namespace) -> list[str]:
    for name in ("paths", "path", "inputs"):
        value = getattr(args, name, None)
        if value:
            return [value] if isinstance(value, str) else list(value)
    return []


def wants_outputs(args: argparse.Namespace) -> bool:
    """A report or an export is asked for."""
    return any(getattr(args, name, None) for name in OUTPUT_OPTIONS.values())


def study_report(args: argparse.Namespace, analyses, study=None, left_out=()):
    """The one ReportData of the study (study: its app.workflow.study_result.StudyResult): what the PDF prints
    and what leaves as DICOM. left_out: (path, reason) of the study's files the analysis refused."""
    from app.report.build import report_from_analyses
    from app.report.model import NotMeasured

    measurements = study.measurements if study is not None and len(analyses) > 1 else None
    return report_from_analyses(analyses, study=measurements, comment=args.comment, anonymise=args.anonymise,
                                reviewer=args.reviewer, la=None if study is None else study.la,
                                not_measured=tuple(NotMeasured(Path(path).name, why) for path, why in left_out))


def write_outputs(args: argparse.Namespace, analyses, report) -> list[Path]:
    """Write what the options ask for from finished analyses of one study and their report (study_report);
    returns the paths written. A file that cannot be written (permissions, full disk) is an OptionError."""
    validate(args)
    try:
        return _write_outputs(args, analyses, report)
    except OSError as exc:
        where = exc.filename or "the output"
        raise OptionError(f"cannot write {where}: {exc.strerror or exc}") from None


def _write_outputs(args: argparse.Namespace, analyses, report) -> list[Path]:
    targets = {kind: getattr(args, name) for kind, name in OUTPUT_OPTIONS.items()}
    kinds = tuple(kind for kind, target in targets.items() if target)
    if not kinds or not analyses or report is None:
        return []
    from app.report.exporter import beside, write_exports

    per_recording = {kind: beside(targets[kind], analyses) for kind in ("contours", "cine") if targets[kind]}

    def name_of(kind: str, index: int | None) -> Path:
        return Path(targets[kind]) if index is None else per_recording[kind](index)

    written = write_exports(report, analyses, kinds, name_of, args.page_size)
    return [path for kind in kinds for path in written[kind]]
