"""`cardiotrace info PATH [--series KEY] [--json]`: print what the readers find in a file or folder.

Human text by default; with --json, Recording.summary() (readers.read_summary) plus "series": [...] (every series
the path holds). A folder with several series and no --series prints the list only (exit 0); bad input raises
LoadError, which the CLI prints on one line with exit code 2. A file too large to load on this machine is summarized
all the same where the readers can (summary_only.py), with one more line, and in JSON "too_large_to_load": the
reason the viewer and `analyze` refuse it.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a recording file (DICOM, NIfTI, MetaImage, AVI, MP4), a folder or a DICOMDIR")
    parser.add_argument("--series", metavar="KEY", default=None, help="pick one series of a folder (see the list)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _series_dict(info) -> dict:
    return {"key": info.key, "description": info.description, "modality": info.modality,
            "frames": info.n_frames, "shape": list(info.shape), "files": len(info.paths)}


def _fmt(value, unit: str = "", digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = round(value, digits)
    return f"{value}{unit}"


def _text(summary: dict | None, series: list[dict], too_large: str | None = None) -> str:
    lines = []
    if summary is not None:
        spacing = " x ".join(_fmt(s, digits=4) for s in summary["spacing_mm"])
        rate = _fmt(summary["frame_rate_hz"], " Hz") + (" (nominal: the file gives no timing)"
                                                         if summary.get("frame_times_nominal") else "")
        lines += [
            f"path:            {summary['path']}",
            f"modality:        {summary['modality']}",
            f"view:            {summary['view']}",
            f"shape:           {summary['shape']} ({summary['dtype']})",
            f"slices x frames: {summary['slices']} x {summary['frames']}",
            f"spacing_mm:      {spacing} (row x col){'' if summary['calibrated'] else ' nominal, NOT calibrated'}",
            f"slice spacing:   {_fmt(summary['slice_spacing_mm'], ' mm')}",
            f"frame rate:      {rate}",
            f"duration:        {_fmt(summary['duration_s'], ' s')}",
            f"heart rate:      {_fmt(summary['heart_rate_bpm'], ' bpm')}",
            f"calibrated:      {'yes' if summary['calibrated'] else 'no'}",
            f"sector mask:     {'yes' if summary['has_sector_mask'] else 'no'}",
            f"image mode:      {summary['image_mode']}"
            + ("" if summary["image_mode"] == "2D" else " (not analyzed: no LV border to trace on it)"),
            f"series:          {summary['series'] or '-'}",
            f"manufacturer:    {summary['manufacturer'] or '-'}",
            *_patient_lines(summary["patient"]),
        ]
        lines += [f"note:            {note}" for note in summary.get("reader_notes", ())]
        if too_large:
            lines.append(f"too large:       the viewer and analyze would refuse it: {too_large}")
    if len(series) > 1 or summary is None:
        lines.append(f"{len(series)} series found (pick one with --series KEY):")
        lines += [f"  {s['key']}  [{s['modality']}] {s['description']}  shape {s['shape']}" for s in series]
    return "\n".join(lines)


def _patient_lines(patient: dict) -> list[str]:
    """Who and when, so the file can be checked against the request before it is analyzed."""
    from app.data.dicom_dates import display_date

    born = display_date(patient["birth_date"])
    who = ", ".join(part for part in (patient["name"], patient["patient_id"] and f"ID {patient['patient_id']}",
                                      born and f"born {born}", patient["sex"]) if part)
    body = ", ".join(part for part in (patient["height_cm"] and f"{patient['height_cm']:g} cm",
                                       patient["weight_kg"] and f"{patient['weight_kg']:g} kg") if part)
    study = ", ".join(part for part in (display_date(patient["study_date"]), patient["institution"]) if part)
    return [f"patient:         {who or '-'}" + (f" ({body})" if body else ""), f"study:           {study or '-'}"]


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.data.readers import list_series, read_summary

    path = Path(args.path)
    series = [_series_dict(s) for s in list_series(path)]
    summary, too_large = None, None
    if args.series is not None or len(series) <= 1:
        read = read_summary(path, series_key=args.series)  # not every frame decoded: fast on a long, large clip
        summary, too_large = read.fields, read.too_large_to_load
    if args.json:
        payload = dict(summary or {"path": str(path)})
        if summary is not None:
            payload["series_description"] = summary["series"]  # "series" becomes the list below
        payload["series"] = series
        if too_large:
            payload["too_large_to_load"] = too_large
        print(json.dumps(payload, indent=2))
    else:
        print(_text(summary, series, too_large))
    return 0
