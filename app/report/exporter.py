"""The one exporter: the report and exports of finished analyses, for the CLI, the batch runner and the viewer.

EXPORT_KINDS: "pdf" (the report), "csv" and "json" (the measurements as printed) are written once per study;
"contours", "masks" and "cine" once per recording (app/report/exports.py has the writers). Callers differ
only in where the files go: `write_exports(report, analyses, kinds, name_of, page_size)` asks
`name_of(kind, index)` for each file (index: the recording's position, None for a study-level file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from app.report.model import ReportData
from app.workflow.batch import SUMMARY_VALUES, BatchOutputs
from app.workflow.results import RecordingAnalysis

EXPORT_KINDS = ("pdf", "csv", "json", "contours", "masks", "cine")
STUDY_KINDS = ("pdf", "csv", "json")
SUFFIXES = {"pdf": ".pdf", "csv": ".csv", "json": ".json", "contours": ".contours.json", "masks": ".masks.nii.gz",
            "cine": ".cine.mp4"}
NameOf = Callable[[str, "int | None"], Path]


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The kinds as a tuple; ValueError naming the unknown ones."""
    unknown = [k for k in kinds if k not in EXPORT_KINDS]
    if unknown:
        raise ValueError(f"unknown export kinds: {', '.join(unknown)}; choose from {', '.join(EXPORT_KINDS)}")
    return tuple(kinds)


def write_exports(report: ReportData, analyses: Sequence[RecordingAnalysis], kinds: Sequence[str], name_of: NameOf,
                  page_size: str = "A4") -> dict[str, list[Path]]:
    """Write each kind (in EXPORT_KINDS order) where `name_of` says; {kind: paths written}."""
    from app.report import exports

    wanted = check_kinds(kinds)
    written: dict[str, list[Path]] = {}
    for kind in EXPORT_KINDS:
        if kind not in wanted:
            continue
        if kind == "pdf":
            from app.report.pdf import write_pdf

            written[kind] = [write_pdf(report, name_of(kind, None), page_size)]
        elif kind == "csv":
            written[kind] = [exports.write_measurements_csv(report, name_of(kind, None))]
        elif kind == "json":
            written[kind] = [exports.write_measurements_json(report, name_of(kind, None))]
        else:
            writer = {"contours": exports.write_contours_json, "masks": exports.write_masks_nifti,
                      "cine": exports.write_cine}[kind]
            written[kind] = [writer(a, name_of(kind, i)) for i, a in enumerate(analyses)]
    return written


def in_folder(folder: Path, analyses: Sequence[RecordingAnalysis], study_stem: str = "") -> NameOf:
    """Names inside `folder`: report.pdf / measurements.csv / measurements.json (or `<study_stem>.<suffix>`)
    and per recording `<file stem>_<view>.<suffix>` (or `<study_stem>.<suffix>` for one recording)."""

    def name_of(kind: str, index: int | None) -> Path:
        if study_stem and (index is None or len(analyses) == 1):
            return folder / f"{study_stem}{SUFFIXES[kind]}"
        if index is None:
            return folder / ("report.pdf" if kind == "pdf" else f"measurements{SUFFIXES[kind]}")
        rec = analyses[index].recording
        stem = rec.source_path.name.split(".")[0] if rec.source_path else f"recording{index + 1}"
        return folder / f"{stem}_{rec.view}{SUFFIXES[kind]}"

    return name_of


def beside(target: str | Path, analyses: Sequence[RecordingAnalysis]) -> Callable[[int], Path]:
    """Per-recording names from one given file name: the name itself for one recording; with several,
    `<stem>-<view>-<n><suffix>` beside it."""
    path = Path(target)

    def name(index: int) -> Path:
        if len(analyses) == 1:
            return path
        suffix = "".join(path.suffixes) if path.name.endswith(".nii.gz") else path.suffix
        stem = path.name[: len(path.name) - len(suffix)]
        return path.with_name(f"{stem}-{analyses[index].recording.view}-{index + 1}{suffix}")

    return name


@dataclass(frozen=True)
class ExportOptions:
    """What to write and how: kinds from EXPORT_KINDS; anonymise leaves the patient out; the conclusion and
    reviewer printed on the report."""

    kinds: tuple[str, ...] = ("pdf",)
    anonymise: bool = False
    comment: str = ""
    reviewer: str = ""
    page_size: str = "A4"


def batch_export(options: ExportOptions) -> Callable[[RecordingAnalysis, Path], BatchOutputs]:
    """The batch runner's exporter (app.workflow.batch): per item `<base><suffix>` files, the measurements as
    printed and the item's summary row."""
    check_kinds(options.kinds)

    def export(analysis: RecordingAnalysis, base: Path) -> BatchOutputs:
        from app.report import exports
        from app.report.build import report_from_analyses

        report = report_from_analyses([analysis], comment=options.comment, anonymise=options.anonymise,
                                      reviewer=options.reviewer)
        written = write_exports(report, [analysis], options.kinds,
                                lambda kind, _i: Path(f"{base}{SUFFIXES[kind]}"), options.page_size)
        files = {("report" if kind == "pdf" else kind): paths[0].name for kind, paths in written.items()}
        return BatchOutputs(files, exports.measurements_dict(report), _summary_row(report, analysis))

    return export


def _summary_row(report: ReportData, analysis: RecordingAnalysis) -> dict:
    rec = report.recordings[0]
    from app.report.build import no_strain_line

    # why the GLS column is empty: no strain tracked, or a strain whose GLS is not reported (StrainResult.withheld)
    no_strain = tuple(line for line in (no_strain_line(analysis), getattr(analysis.strain, "withheld", "")) if line)
    values = {r.key: r.text if r.value is not None else "" for r in rec.measurements}
    return {"modality": rec.modality, "view": rec.view, "frames": rec.n_frames, "calibrated": rec.calibrated,
            "method": next((r.method for r in rec.measurements if r.key == "ef_pct"), ""),
            **{k: values.get(k, "") for k in SUMMARY_VALUES},
            "beats": len(rec.beats), "flagged_frames": len(analysis.measurements.flagged_frames),
            "notes": " | ".join(analysis.measurements.notes + no_strain)}  # the caveats, e.g. a file cut short
