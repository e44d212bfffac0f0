"""`cardiotrace analyze PATH [PATH ...]`: volumes, EF, ED/ES and beats without a window.

    python -m app analyze clip.dcm --json -                 # JSON on stdout
    python -m app analyze a4c.dcm a2c.dcm --json out.json   # per recording + biplane (A4C + A2C)
    python -m app analyze clip.dcm --view a2c --masks labels.nii.gz
    python -m app analyze clip.dcm --labels clip.truth.npz  # measure a given segmentation (no model)

Without --json a short summary is printed. On a terminal, stderr shows a one-line progress bar while each
recording is analyzed (app/workflow/terminal_progress.py). Bad input (unreadable file, unknown view, model not
installed, labels of the wrong shape) -> one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.analyze_options import add_arguments, masks_folder, output_files
from app.commands.analyze_output import json_result, print_summary, study_la, write_json
from app.commands.analyze_study import read_study

# app.cli builds the subcommand from these two (the options' module holds the flags, beside their types)
__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    from app.commands import analyze_pacs
    from app.commands.usage import UsageError, check_output_targets

    analyze_pacs.validate(args)
    analyze_pacs.check_nodes(args)
    # --- report, exports, batch (app/report/cli_hooks.py; report helper) ---
    from app.report import cli_hooks

    try:
        cli_hooks.validate(args)
        if cli_hooks.is_batch(args):
            check_output_targets({}, {"--out": args.out})  # before the first analysis, not at the summary
            return cli_hooks.run_batch_command(args)
    except cli_hooks.OptionError as exc:
        raise UsageError(str(exc)) from None
    # --- end report block ---
    check_output_targets(output_files(args), {"--dicom-out": args.dicom_out, "--masks": masks_folder(args)})
    paths, recordings, options, label_files, left_out = read_study(args)
    analyze_pacs.check_sources(args, recordings)
    if args.masks and len(paths) > 1 and not masks_folder(args):
        raise UsageError("with several PATHs, --masks must be a folder")
    analyses = [_analyze_one(args, path, recording, opts, label_file, several=len(paths) > 1)
                for path, recording, opts, label_file in zip(paths, recordings, options, label_files, strict=False)]
    _say_results(args, analyses, left_out)
    return 0


def _analyze_one(args: argparse.Namespace, path: Path, recording, opts, label_file, several: bool):
    """One recording analyzed under a bar on a terminal (named when there are several), its label map written
    (--masks) before the next one starts."""
    from app.commands.usage import UsageError
    from app.workflow.analyze import analyze_recording
    from app.workflow.results import AnalysisError
    from app.workflow.terminal_progress import run_with_bar

    try:
        segmenter, name = _segmenter(recording, opts, label_file)
        analysis = run_with_bar(analyze_recording(recording, segmenter=segmenter, segmenter_name=name,
                                                  strain=opts.strain, motion=opts.motion),
                                sys.stderr, path.name if several else "")
    except AnalysisError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if analysis is None:  # pragma: no cover - nothing cancels from the CLI
        raise UsageError(f"{path}: analysis was cancelled")
    if args.masks:
        _write_masks(args, path, recording, analysis)
    return analysis


def _segmenter(recording, opts, label_file):
    """(segmenter, its name in the results): the given labels (--labels), else the network."""
    from app.commands.analyze_io import load_labels
    from app.workflow.segment_step import default_segmenter

    if isinstance(label_file, tuple):  # the label maps of phases joined from files (analyze_study.joined_phases)
        return (lambda rec, _l=label_file[1]: _l), f"labels:{label_file[0]}"
    if label_file:
        labels = load_labels(Path(label_file), recording)
        return (lambda rec, _l=labels: _l), f"labels:{Path(label_file).name}"
    return default_segmenter(recording, opts.model, opts.hysteresis)


def _write_masks(args: argparse.Namespace, path: Path, recording, analysis) -> None:
    """--masks: the label map as the file named, or in the folder named, one per recording."""
    from app.commands.analyze_io import write_masks
    from app.commands.usage import UsageError

    target = Path(args.masks)
    try:
        if masks_folder(args):
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"{path.stem.split('.')[0]}_{recording.view}_labels.nii.gz"
        print(f"wrote {write_masks(analysis.labels, recording, target)}", file=sys.stderr)
    except OSError as exc:
        raise UsageError(f"--masks: cannot write {exc.filename or target}: {exc.strerror or exc}") from None


def _say_results(args: argparse.Namespace, analyses: list, left_out: list) -> None:
    """The study's values composed once, then everything asked for: the report and its exports, the DICOM
    results, the JSON and the text summary."""
    from app.commands import analyze_pacs
    from app.commands.usage import UsageError
    from app.report import cli_hooks
    from app.workflow.study_result import compose_study

    study = compose_study(analyses)  # biplane, LA: the study's values, composed once
    la = study_la(analyses, study)
    result = json_result(analyses, study, la)
    if left_out:
        result["left_out"] = [{"path": str(path), "reason": why} for path, why in left_out]
    # --- the one report of this study, written and sent as composed (app/report/cli_hooks.py) ---
    wanted = cli_hooks.wants_outputs(args) or analyze_pacs.wants_dicom(args)
    report = cli_hooks.study_report(args, analyses, study, left_out) if wanted else None
    try:
        for written in cli_hooks.write_outputs(args, analyses, report):
            print(f"wrote {written}", file=sys.stderr)
    except cli_hooks.OptionError as exc:
        raise UsageError(str(exc)) from None
    # --- end report block ---
    analyze_pacs.send(args, analyses, report)
    if args.json_out:
        write_json(args.json_out, result)
    if args.json_out != "-":
        print_summary(analyses, result, la)
