"""The options of `cardiotrace analyze` and how they are read: the flags, their argparse types, the values given
once per PATH (aligned with their PATHs, each file kept once), and the files the run will write."""

from __future__ import annotations

import argparse
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
        type=margin,
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
    parser.add_argument("--height-cm", type=body_size("height"), default=None, metavar="CM",
                        help="patient height (overrides the file's PatientSize): with the weight, values indexed "
                             "to body surface area (Mosteller) in the JSON and the report")
    parser.add_argument("--weight-kg", type=body_size("weight"), default=None, metavar="KG",
                        help="patient weight (overrides the file's PatientWeight)")
    parser.add_argument("--sex", type=patient_sex, default=None, metavar="{F,M}",
                        help="patient sex (overrides the file's PatientSex; f/m/female/male also read): the "
                             "sex-specific normal ranges in the report and its exports (without it, each range spans "
                             "both sexes and a value is flagged only outside both)")
    # --- report, exports, batch: options owned by app/report/cli_hooks.py (report helper) ---
    from app.report import cli_hooks

    cli_hooks.add_arguments(parser)
    # --- end report block ---
    from app.commands import analyze_pacs  # --from-node, --send, --send-dicomweb, --dicom-out

    analyze_pacs.add_arguments(parser)


def margin(text: str) -> float:
    """argparse type of --hysteresis: a probability margin in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def body_size(which: str):
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


SEX_CODES = {"f": "F", "female": "F", "m": "M", "male": "M"}  # PatientInfo.sex holds DICOM PatientSex's codes


def patient_sex(text: str) -> str:
    """argparse type of --sex: 'F' or 'M' (PatientInfo.sex, DICOM PatientSex) from F/M/female/male, any case."""
    code = SEX_CODES.get(text.strip().lower())
    if code is None:
        raise argparse.ArgumentTypeError(f"give F or M (female or male), got {text!r}")
    return code


def per_path(values, n: int, name: str, shared: bool = False) -> list:
    """One value per PATH; with shared, one value may also stand for every PATH."""
    from app.commands.usage import UsageError

    if not values:
        return [None] * n
    if len(values) == 1 and (n == 1 or shared):
        return list(values) * n
    if len(values) != n:
        raise UsageError(f"give --{name} once per PATH ({n}), got {len(values)}")
    return list(values)


def drop_duplicates(paths: list[Path], views: list, label_files: list, series_key: str | None):
    """The PATHs with each file once, at its first PATH, with their per-PATH views and label files: `A A`, `./A A`
    or a glob of symlinks to one file would be analyzed as several recordings of the study, doubling it in the
    results and the report. "The same file" is the batch's rule (BatchItem.key: the resolved path and the series
    key), so a study and `--out` agree. A duplicate given another --view or --labels than its first PATH is
    contradictory input (UsageError); the number dropped is said on stderr."""
    from app.commands.usage import UsageError
    from app.workflow.batch_inputs import BatchItem

    labels_read_as = [_resolved(f) for f in label_files]
    first: dict[str, int] = {}  # same-file key -> index of its first PATH
    for i, path in enumerate(paths):
        j = first.setdefault(BatchItem(path.expanduser().resolve(), series_key).key, i)
        for option, given, compared in (("--view", views, views), ("--labels", label_files, labels_read_as)):
            if compared[i] != compared[j]:
                raise UsageError(f"PATH {i + 1} ({paths[i]}) is the same file as PATH {j + 1} ({paths[j]}) but is "
                                 f"given {option} {given[i]}, not {given[j]}: give each file once")
    kept = sorted(first.values())
    if dropped := len(paths) - len(kept):
        print(f"note: {dropped} duplicate PATH{'s' if dropped > 1 else ''} dropped (the same file as an earlier "
              "PATH; each file is analyzed once)", file=sys.stderr)
    return [paths[i] for i in kept], [views[i] for i in kept], [label_files[i] for i in kept]


def _resolved(label_file: str | None) -> Path | None:
    """A label file as the file it names: ./t.npz and t.npz are one labelling, not a conflict."""
    return None if label_file is None else Path(label_file).expanduser().resolve()


MASK_FILE_SUFFIXES = (".nii", ".gz", ".mhd", ".mha")


def output_files(args: argparse.Namespace) -> dict[str, str | None]:
    """The files the run writes, by option, so that no two options name one file."""
    from app.report.cli_hooks import OUTPUT_OPTIONS

    files = {f"--{name}": getattr(args, name, None) for name in OUTPUT_OPTIONS.values()}
    masks = args.masks if args.masks and not masks_folder(args) else None
    return {"--json": args.json_out, "--masks": masks, **files}


def masks_folder(args: argparse.Namespace) -> str | None:
    """--masks as a folder (one label map per recording) unless it names a NIfTI / MetaImage file."""
    if not args.masks or Path(args.masks).suffix in MASK_FILE_SUFFIXES:
        return None
    return args.masks
