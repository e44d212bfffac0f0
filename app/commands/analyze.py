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
import json
import sys
from pathlib import Path

from app.data.recording import VIEWS
from app.ml import DEFAULT_ECHO_MODEL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="recording files or folders of one study")
    parser.add_argument("--view", action="append", choices=VIEWS, default=None,
                        help="view label (overrides the file's; an echo view makes a 3D NIfTI/MetaImage an echo "
                             "clip whatever its name); once for every PATH, or once per PATH in order")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the results as JSON ('-' = stdout)")
    parser.add_argument("--masks", metavar="OUT.nii.gz",
                        help="write the per-frame label map (0-3) as NIfTI in the recording's grid; "
                             "a name without .nii/.nii.gz/.mhd is a folder (one map per PATH; several PATHs need one)")
    parser.add_argument("--series", metavar="KEY", help="series key when a folder holds several series")
    parser.add_argument("--labels", action="append", metavar="FILE", default=None,
                        help="use this segmentation instead of the model (.npz with 'labels', .npy, NIfTI); "
                             "once per PATH")
    parser.add_argument("--model", choices=("temporal", "base"), default=DEFAULT_ECHO_MODEL,
                        help="echo segmentation network: base = per-frame U-Net (default: the more accurate EF), "
                             "temporal = ConvLSTM U-Net (smoother contours, EF under-estimated)")
    parser.add_argument(
        "--hysteresis",
        type=_margin,
        default=0.0,
        metavar="MARGIN",
        help="echo: a pixel keeps the previous frame's label unless another class is more probable "
        "by more than MARGIN (0-1; 0.2 stops most flicker, EF about 1-1.5 points lower; default 0)",
    )
    parser.add_argument("--same-patient", action="store_true",
                        help="the PATHs are one patient's exam although the files carry no identity to compare "
                             "(no patient ID, name + birth date or Study Instance UID): anonymised or non-DICOM "
                             "files such as CAMUS' ED and ES frames. Files that name different patients are "
                             "refused all the same")
    parser.add_argument("--no-strain", action="store_true", help="skip longitudinal strain (apical echo views)")
    parser.add_argument("--height-cm", type=_body_size("height"), default=None, metavar="CM",
                        help="patient height (overrides the file's PatientSize): with the weight, values indexed "
                             "to body surface area (Mosteller) in the JSON and the report")
    parser.add_argument("--weight-kg", type=_body_size("weight"), default=None, metavar="KG",
                        help="patient weight (overrides the file's PatientWeight)")
    # --- report, exports, batch: options owned by app/report/cli_hooks.py (report helper) ---
    from app.report import cli_hooks

    cli_hooks.add_arguments(parser)
    # --- end report block ---
    from app.commands import analyze_pacs  # --from-node, --send, --send-dicomweb, --dicom-out

    analyze_pacs.add_arguments(parser)


def _margin(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def _body_size(which: str):
    """argparse type: a height (cm) or weight (kg) in the plausible range (app.analysis.body_size)."""
    from app.data.recording import HEIGHT_RANGE_CM, WEIGHT_RANGE_KG

    low, high = HEIGHT_RANGE_CM if which == "height" else WEIGHT_RANGE_KG

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{which} must be between {low:g} and {high:g}, got {value:g}")
        return value

    return parse


def _per_path(values, n: int, name: str, shared: bool = False) -> list:
    """One value per PATH; with shared, one value may also stand for every PATH."""
    from app.commands.usage import UsageError

    if not values:
        return [None] * n
    if len(values) == 1 and (n == 1 or shared):
        return list(values) * n
    if len(values) != n:
        raise UsageError(f"give --{name} once per PATH ({n}), got {len(values)}")
    return list(values)


def _load_study(paths: list[Path], options: list, stream=None) -> list:
    """The recordings of the PATHs, held together for the study (limits.StudyBudget: LoadError, before the
    system runs out of memory, when they are too many for that); several are read under a bar on a terminal."""
    from app.data.readers.limits import StudyBudget
    from app.workflow.analyze import load
    from app.workflow.terminal_progress import TerminalProgress

    bar = TerminalProgress(stream or sys.stderr, total=len(paths)) if len(paths) > 1 else None
    budget, recordings = StudyBudget(), []
    try:
        for i, (path, opts) in enumerate(zip(paths, options, strict=True)):
            if bar is not None:
                bar.show(i, f"reading {i + 1}/{len(paths)}: {path.name}")
            recording = load(path, opts)
            budget.add(path, recording.frames.nbytes + (0 if recording.display_rgb is None else
                                                         recording.display_rgb.nbytes))
            recordings.append(recording)
    finally:
        if bar is not None:
            bar.close()
    return recordings


def _check_one_patient(paths: list[Path], recordings, same_patient: bool = False) -> list:
    """Several PATHs are one study: refuse recordings of different patients (or exams), naming both, and
    recordings whose identities cannot be compared unless the user vouches (--same-patient). Returns the
    recordings, each with a note naming the files taken on the user's word."""
    from dataclasses import replace

    from app.commands.usage import UsageError
    from app.workflow.patients import DIFFERENT, UNKNOWN, compare, describe, identity, study_identity

    vouched = []
    for k in range(1, len(recordings)):
        verdict, field = compare(study_identity(r.patient for r in recordings[:k]), identity(recordings[k].patient))
        if verdict == DIFFERENT:
            first = next((i for i in range(k) if compare(identity(recordings[i].patient),
                                                         identity(recordings[k].patient))[0] == DIFFERENT), 0)
            raise UsageError(
                f"{paths[first]} ({describe(recordings[first].patient)}) and {paths[k]} "
                f"({describe(recordings[k].patient)}) are not one study (different {field}): "
                "analyze them one at a time, or as a batch with --out")
        if verdict == UNKNOWN and not same_patient:
            others = ", ".join(str(p) for p in paths[:k])
            raise UsageError(
                f"{others} and {paths[k]}: nothing tells whether they are one patient (no patient ID, name + "
                "birth date or Study Instance UID on both sides); add --same-patient if they are, or analyze "
                "them one at a time, or as a batch with --out")
        if verdict == UNKNOWN:
            vouched.append(paths[k].name)
    if not vouched:
        return list(recordings)
    # On every recording: a joined ED/ES pair keeps the first file's notes (app.workflow.phase_files).
    note = (f"{paths[0].name} and {', '.join(vouched)} taken as one patient on the user's word (--same-patient): "
            "the files carry no identity to compare")
    return [replace(r, reader_notes=(*r.reader_notes, note)) for r in recordings]


def _left_out(paths, recordings, options, label_files):
    """Of several PATHs (a study, e.g. retrieved from a PACS), the recordings the analysis cannot take (a colour
    Doppler clip beside the grey-scale ones) are left out with a line saying why; one PATH alone is refused."""
    from app.commands.usage import UsageError
    from app.workflow.analyze import refusal

    why = [refusal(r) if len(paths) > 1 else "" for r in recordings]
    if all(why):
        raise UsageError(f"{paths[0]}: {why[0]}")
    for path, reason in zip(paths, why, strict=True):
        if reason:
            print(f"left out {path}: {reason}", file=sys.stderr)
    kept = [i for i, reason in enumerate(why) if not reason]
    return ([paths[i] for i in kept], [recordings[i] for i in kept], [options[i] for i in kept],
            [label_files[i] for i in kept], [(p, r) for p, r in zip(paths, why, strict=True) if r])


def _joined_phases(paths, recordings, options, label_files):
    """One-phase recordings given together (CAMUS's 4CH_ED / 4CH_ES frames, ACDC's frameED / frameES stacks) are
    the phases of one recording per view (app.workflow.phase_files): one analysis with EDV/ESV/EF. Groups of
    different geometry stay separate, with a line saying why. Label files given for every PATH join with their
    recordings (each read against its own file); given for some only, nothing is joined. Label entries of a
    joined recording come back as (name, labels array)."""
    import numpy as np

    from app.commands.analyze_io import load_labels
    from app.workflow.phase_files import join_where_possible

    if any(label_files) and not all(label_files):
        return paths, recordings, options, label_files
    joined, sources, problems = join_where_possible(recordings)
    for line in problems:
        print(f"note: {line}", file=sys.stderr)
    labels_out = []
    for group in sources:
        if len(group) > 1:
            print(f"{', '.join(paths[i].name for i in group)}: one phase each, analyzed as one recording",
                  file=sys.stderr)
        if len(group) > 1 and label_files[group[0]]:
            maps = [load_labels(Path(label_files[i]), recordings[i]) for i in group]
            name = " + ".join(Path(label_files[i]).name for i in group)
            labels_out.append((name, np.concatenate(maps, axis=-3)))
        else:
            labels_out.append(label_files[group[0]])
    firsts = [group[0] for group in sources]
    return [paths[i] for i in firsts], joined, [options[i] for i in firsts], labels_out


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.commands import analyze_pacs
    from app.commands.analyze_io import load_labels, write_masks
    from app.commands.usage import UsageError, check_output_targets
    from app.workflow.analyze import analyze_recording
    from app.workflow.results import AnalysisError
    from app.workflow.segment_step import default_segmenter
    from app.workflow.study_result import compose_study
    from app.workflow.terminal_progress import run_with_bar

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
    check_output_targets(_output_files(args), {"--dicom-out": args.dicom_out, "--masks": _masks_folder(args)})
    paths = [Path(p) for p in analyze_pacs.resolve_paths(args)]
    views = _per_path(args.view, len(paths), "view", shared=True)
    label_files = _per_path(args.labels, len(paths), "labels")
    shared = cli_hooks.analysis_options(args)  # the one reading of the options, as --out's
    options = [replace(shared, view=view, series_key=args.series) for view in views]
    recordings = _load_study(paths, options)
    recordings = _check_one_patient(paths, recordings, args.same_patient)
    paths, recordings, options, label_files = _joined_phases(paths, recordings, options, label_files)
    paths, recordings, options, label_files, left_out = _left_out(paths, recordings, options, label_files)
    analyze_pacs.check_sources(args, recordings)
    if args.masks and len(paths) > 1 and not _masks_folder(args):
        raise UsageError("with several PATHs, --masks must be a folder")
    analyses = []
    for path, recording, opts, label_file in zip(paths, recordings, options, label_files, strict=False):
        try:
            if isinstance(label_file, tuple):  # the label maps of phases joined from files (_joined_phases)
                segmenter, name = (lambda rec, _l=label_file[1]: _l), f"labels:{label_file[0]}"
            elif label_file:
                labels = load_labels(Path(label_file), recording)
                segmenter, name = (lambda rec, _l=labels: _l), f"labels:{Path(label_file).name}"
            else:
                segmenter, name = default_segmenter(recording, opts.model, opts.hysteresis)
            analysis = run_with_bar(analyze_recording(recording, segmenter=segmenter, segmenter_name=name,
                                                      strain=opts.strain, motion=opts.motion),
                                    sys.stderr, path.name if len(paths) > 1 else "")
        except AnalysisError as exc:
            raise UsageError(f"{path}: {exc}") from None
        if analysis is None:  # pragma: no cover - nothing cancels from the CLI
            raise UsageError(f"{path}: analysis was cancelled")
        analyses.append(analysis)
        if args.masks:
            target = Path(args.masks)
            try:
                if _masks_folder(args):
                    target.mkdir(parents=True, exist_ok=True)
                    target = target / f"{path.stem.split('.')[0]}_{recording.view}_labels.nii.gz"
                print(f"wrote {write_masks(analysis.labels, recording, target)}", file=sys.stderr)
            except OSError as exc:
                raise UsageError(f"--masks: cannot write {exc.filename or target}: {exc.strerror or exc}") from None

    study = compose_study(analyses)  # biplane, LA: the study's values, composed once
    la = _study_la(analyses, study)
    result = _json_result(analyses, study, la)
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
        text = json.dumps(result, indent=2, allow_nan=False)
        if args.json_out == "-":
            sys.stdout.write(text + "\n")
        else:
            _write_json(Path(args.json_out), text)
            print(f"wrote {args.json_out}", file=sys.stderr)
    if args.json_out != "-":
        _print_summary(analyses, result, la)
    return 0


MASK_FILE_SUFFIXES = (".nii", ".gz", ".mhd", ".mha")


def _output_files(args: argparse.Namespace) -> dict[str, str | None]:
    from app.report.cli_hooks import OUTPUT_OPTIONS

    files = {f"--{name}": getattr(args, name, None) for name in OUTPUT_OPTIONS.values()}
    masks = args.masks if args.masks and not _masks_folder(args) else None
    return {"--json": args.json_out, "--masks": masks, **files}


def _masks_folder(args: argparse.Namespace) -> str | None:
    """--masks as a folder (one label map per recording) unless it names a NIfTI / MetaImage file."""
    if not args.masks or Path(args.masks).suffix in MASK_FILE_SUFFIXES:
        return None
    return args.masks


def _write_json(path: Path, text: str) -> None:
    from app.commands.usage import UsageError
    from app.paths import write_text

    try:
        write_text(path, text)
    except OSError as exc:
        raise UsageError(f"--json: cannot write {path}: {exc.strerror or exc}") from None


def _json_result(analyses, study, la: dict | None) -> dict:
    """One recording's JSON (the same as a batch's and the viewer's), or the recordings' with the study's values:
    the biplane (with its BSA and indexed values) and the LA volume (`la`: _study_la), indexed with the first
    recording's patient, as the report does."""
    from app.workflow.indexed import indexed_json

    items = [a.to_json_dict() for a in analyses]
    if len(items) == 1:
        return items[0]
    biplane = None if study.biplane is None else {
        **study.biplane.to_json_dict(),  # indexed as the report's page 1 indexes it, with the first recording's patient
        **indexed_json(study.biplane, analyses[0].recording.patient)}
    return {
        "recordings": items,
        "biplane": biplane,
        "la_volume": la,
        "study_notes": list(study.notes),  # e.g. which of two A4C clips the biplane and LA volume use
    }


def _fmt(value, unit: str = "", nd: int = 1) -> str:
    """A value as the summary prints it; "-" when unknown (None, or a curve's NaN where no LV was found)."""
    return "-" if value is None or value != value else f"{value:.{nd}f}{unit}"


def _print_mri_summary(m) -> None:
    """Short-axis stack: the RV, the mass, and a one-phase stack's volumes."""
    if m.n_frames == 1:
        lv = None if m.volume_curve_ml is None else float(m.volume_curve_ml[0])
        rv = None if m.rv_volume_curve_ml is None else float(m.rv_volume_curve_ml[0])
        print(f"  one phase: LV volume {_fmt(lv, ' ml')}  RV volume {_fmt(rv, ' ml')}")
    else:
        print(
            f"  RV EDV {_fmt(m.rv_edv_ml, ' ml')}  RV ESV {_fmt(m.rv_esv_ml, ' ml')}  RV SV {_fmt(m.rv_sv_ml, ' ml')}  "
            f"RV EF {_fmt(m.rv_ef_pct, ' %')}"
        )
    print(f"  myocardial mass {_fmt(m.lv_mass_g, ' g')}")


def _study_la(analyses, study) -> dict | None:
    from app.workflow.indexed import body_surface_area_m2

    return None if study.la is None else study.la.to_json_dict(body_surface_area_m2(analyses[0].recording.patient))


def _hr_source(m) -> str:
    """Where a heart rate not measured from the beats comes from."""
    from app.workflow.results import HR_FROM_FILE, HR_FROM_GATED_CYCLE

    return {HR_FROM_FILE: " (the file's)", HR_FROM_GATED_CYCLE: " (gated cycle)"}.get(m.heart_rate_source, "")


def _print_summary(analyses, result, la: dict | None) -> None:
    for a in analyses:
        m = a.measurements
        name = a.recording.source_path.name if a.recording.source_path else "recording"
        print(f"{name}: {a.recording.modality} {a.recording.view}, {a.recording.n_frames} frames, "
              f"method {m.method}{'' if m.calibrated else ' (uncalibrated: volumes need a calibration)'}")
        fac = f"  FAC {_fmt(m.fac_pct, ' %')}" if m.method == "single-slice" else ""  # one slice's one value
        print(f"  EDV {_fmt(m.edv_ml, ' ml')}  ESV {_fmt(m.esv_ml, ' ml')}  SV {_fmt(m.sv_ml, ' ml')}  "
              f"EF {_fmt(m.ef_pct, ' %')}{fac}  HR {_fmt(m.heart_rate_bpm, ' bpm', 0)}{_hr_source(m)}")
        print(f"  ED frames {list(m.ed_frames)}  ES frames {list(m.es_frames)}  beats {len(m.beats)}  "
              f"frames to review {list(m.flagged_frames)}")
        if a.recording.modality == "mri" and a.recording.is_stack:
            _print_mri_summary(m)
        if a.strain is not None:
            gls = a.strain.gls_pct
            low = a.strain.low_quality_segments
            print(f"  GLS {_fmt(gls, ' %')}" + (f"  (low tracking quality: {', '.join(low)})" if low else ""))
            if a.strain.withheld:  # why the GLS is missing, as the report and the JSON say
                print(f"  note: {a.strain.withheld}")
        elif a.strain_error:
            print(f"  strain not measured: {a.strain_error}")
        if a.view_check is not None and a.view_check.warning:
            print(f"  warning: {a.view_check.warning}")
        for note in m.notes:  # the caveats the JSON's "notes" carry: a reader of the text must see them too
            print(f"  note: {note}")
    bi = result.get("biplane") if "recordings" in result else None
    if bi:
        print(f"biplane (A4C + A2C): EDV {_fmt(bi['edv_ml'], ' ml')}  ESV {_fmt(bi['esv_ml'], ' ml')}  "
              f"EF {_fmt(bi['ef_pct'], ' %')}")
    if la:
        index = la["volume_index_ml_m2"]
        print(f"LA volume {_fmt(la['volume_ml'], ' ml', 0)}"
              + (f" (index {_fmt(index, ' ml/m2', 0)})" if index is not None else "") + f", {la['method']}")
