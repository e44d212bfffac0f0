"""`cardiotrace phantom`: write a synthetic echo clip or cine MR stack with its exact ground truth.

    python -m app phantom --modality echo --view a4c --edv 120 --esv 50 --hr 70 --beats 2 --fps 50 \
        --quality good --hypokinetic mid_anterolateral --seed 1 --out out/a4c.dcm
    python -m app phantom --modality mri --infarct mid_anterior --out out/sax          # DICOM folder
    python -m app phantom --modality mri --trabeculae 5 --out sax.nii.gz               # apical trabeculae
Writes the recording (DICOM, NIfTI or AVI) and its truth (`<name>.truth.npz` + `<name>.truth.json`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from app.report.cli_hooks import non_negative_int

    parser.add_argument("--modality", choices=("echo", "mri"), default="echo")
    parser.add_argument("--view", choices=("a4c", "a2c", "a3c"), default="a4c", help="apical view (echo)")
    parser.add_argument("--edv", type=float, default=120.0, help="end-diastolic volume, ml")
    parser.add_argument("--esv", type=float, default=50.0, help="end-systolic volume, ml")
    parser.add_argument("--hr", type=float, default=70.0, help="heart rate, beats per minute")
    parser.add_argument("--beats", type=int, default=2, help="cardiac cycles in the echo clip (1-4)")
    parser.add_argument("--fps", type=float, default=50.0, help="echo frame rate, Hz (20-100)")
    parser.add_argument("--sd-ratio", type=float, default=0.6, help="systole/diastole duration ratio")
    parser.add_argument("--quality", choices=("excellent", "good", "fair", "poor"), default="good")
    parser.add_argument("--hypokinetic", action="append", default=[], metavar="SEGMENT",
                        help="AHA segment moving at ~50%% of normal (repeatable), e.g. mid_anterolateral")
    parser.add_argument("--infarct", action="append", default=[], metavar="SEGMENT",
                        help="akinetic thinned segment (repeatable), e.g. mid_anterior")
    parser.add_argument("--depth", type=float, default=None, help="echo imaging depth, mm (default: fits the heart)")
    parser.add_argument("--sector", type=float, default=75.0, help="echo sector width, degrees")
    parser.add_argument("--size", default=None, metavar="ROWSxCOLS", help="echo image size (default 256x256)")
    parser.add_argument("--phases", type=int, default=25, help="MRI cardiac phases")
    parser.add_argument("--slices", type=int, default=10, help="MRI short-axis slices")
    parser.add_argument("--slice-spacing", type=float, default=10.0, help="MRI slice spacing, mm")
    parser.add_argument("--pixel", type=float, default=1.4, help="MRI pixel size, mm")
    parser.add_argument("--matrix", type=int, default=192, help="MRI image size, pixels")
    parser.add_argument("--trabeculae", type=float, default=0.0, metavar="MM",
                        help="MRI apical trabecular layer width, mm (0-10; labelled myocardium, as experts trace "
                             "the apex; default 0: none)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed, a whole number of 0 or more")
    parser.add_argument("--out", required=True, help="output file (.dcm, .nii.gz, .avi) or MRI DICOM folder")
    parser.add_argument("--format", choices=("dcm", "nii", "avi"), default=None,
                        help="output format (default: from --out)")
    parser.add_argument("--compression", choices=("none", "rle", "jpeg2000"), default="none",
                        help="lossless DICOM compression")
    parser.add_argument("--no-truth", action="store_true", help="do not write the truth sidecars")


def _size(text: str | None) -> tuple[int, int]:
    from app.commands.usage import UsageError

    if text is None:
        return (256, 256)
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 256x256, got {text!r}") from None
    return rows, cols


def build_params(args: argparse.Namespace):
    """EchoPhantomParams or MriPhantomParams from the arguments; UsageError on bad values."""
    from app.commands.usage import UsageError
    from app.data.phantom import EchoPhantomParams, HeartParams, MriPhantomParams

    try:
        heart = HeartParams(edv_ml=args.edv, esv_ml=args.esv, heart_rate_bpm=args.hr,
                            systole_diastole_ratio=args.sd_ratio, hypokinetic=tuple(args.hypokinetic),
                            infarct=tuple(args.infarct))
        if args.modality == "echo":
            return EchoPhantomParams(heart=heart, view=args.view, beats=args.beats, frame_rate_hz=args.fps,
                                     quality=args.quality, depth_mm=args.depth, sector_deg=args.sector,
                                     image_shape_px=_size(args.size))
        return MriPhantomParams(heart=heart, n_phases=args.phases, n_slices=args.slices,
                                slice_spacing_mm=args.slice_spacing, slice_thickness_mm=min(8.0, args.slice_spacing),
                                pixel_mm=args.pixel, image_px=args.matrix, quality=args.quality,
                                apical_trabeculae_mm=args.trabeculae)
    except ValueError as exc:
        raise UsageError(f"phantom: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from app.commands.usage import UsageError, check_output_targets
    from app.data.phantom import make_echo, make_mri, save_truth
    from app.data.writers import format_from_path, write_recording

    params = build_params(args)
    out = Path(args.out)
    fmt = args.format or format_from_path(out)
    if fmt is None:
        raise UsageError(f"phantom: cannot tell the format from {out.name!r}; give --format dcm|nii|avi")
    if args.modality == "mri" and fmt == "avi":
        raise UsageError("phantom: an MRI stack cannot be written as AVI; use --format dcm or nii")
    mri_folder = args.modality == "mri" and fmt == "dcm"
    check_output_targets({} if mri_folder else {"--out": args.out}, {"--out": args.out} if mri_folder else {})
    if fmt == "nii" and not out.name.lower().endswith((".nii", ".nii.gz")):
        out = out.with_name(out.name + ".nii.gz")
    elif fmt == "avi" and out.suffix.lower() != ".avi":
        out = out.with_name(out.name + ".avi")
    elif fmt == "dcm" and args.modality == "echo" and out.suffix.lower() != ".dcm":
        out = out.with_name(out.name + ".dcm")
    try:
        case = make_echo(params, seed=args.seed) if args.modality == "echo" else make_mri(params, seed=args.seed)
    except ValueError as exc:  # geometry that cannot be built (e.g. the heart does not fit the sector)
        raise UsageError(f"phantom: {exc}") from None
    try:
        written = write_recording(case.recording, out, fmt, compression=args.compression,
                                  slice_thickness_mm=getattr(params, "slice_thickness_mm", None))
        sidecars = () if args.no_truth else save_truth(case.truth, written)
    except OSError as exc:
        raise UsageError(f"phantom: cannot write {out}: {exc.strerror or exc}") from None
    truth = case.truth
    print(json.dumps({
        "written": str(written), "truth": [str(p) for p in sidecars], "frames": case.recording.n_frames,
        "slices": case.recording.n_slices, "spacing_mm": [round(s, 6) for s in truth.spacing_mm],
        "ed_frames": list(truth.ed_frames), "es_frames": list(truth.es_frames),
        "edv_ml": round(truth.edv_ml, 2), "esv_ml": round(truth.esv_ml, 2), "ef_pct": round(truth.ef_pct, 2),
        "gls_pct": round(truth.peak_gls_pct, 2),
    }), file=sys.stdout)
    return 0
