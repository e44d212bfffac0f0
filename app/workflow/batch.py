"""The batch runner: many recordings in sequence through the one analysis, resumable, one summary CSV.

`run_batch(items, out_dir, analyze, export)` analyses each `BatchItem` (app.workflow.batch_inputs) in turn,
by default with app.workflow.analyze.analyze_file (`default_analyze(options)`), and hands each result to
`export(analysis, base_path) -> BatchOutputs` (the report layer's exporter: app.report.exporter.batch_export):
- progress on stderr (app/workflow/terminal_progress.py: a bar redrawn in place on a terminal and one line
  per finished file);
- a file that fails (LoadError, AnalysisError, anything) is recorded with its error and the run goes on; a
  recording the analysis does not take (a colour Doppler clip of the exam: results.NotAnalyzableError) is "left out"
  with the reason, which is not a failure;
- per item `<name>.result.json` (status, source size/mtime, measurements, the analysis JSON) and, when
  asked, `<name>.pdf` and other exports; `manifest.json` indexes them; `summary.csv` has one row per
  item (rebuilt from the result files, so resumed items appear too);
- resume: an item whose result file says "ok" or "left out" for the same source size and mtime, made with the
  same settings (`settings`: the analysis options and exports asked for), is skipped; a run asked for another
  view, network or exports analyses it again; failed items are retried (the failure may have been fixed, e.g. a
  model installed).
Ctrl+C stops after writing the summary of what is done; the next run continues from there.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

from app.paths import atomic_target
from app.tasks import Cancel, Progress, is_cancelled, run_task
from app.workflow.analyze import AnalysisOptions, analyze_file
from app.workflow.batch_inputs import MANIFEST_FORMAT, BatchItem, source_stamp
from app.workflow.results import NotAnalyzableError, RecordingAnalysis
from app.workflow.terminal_progress import TerminalProgress

if TYPE_CHECKING:  # cohort imports dask, only for --workers / --scheduler
    from app.workflow.cohort import Outcome

RESULT_FORMAT = "cardiotrace-batch-result"
LEFT_OUT = "left out"  # the status of a recording the analysis does not take (results.NotAnalyzableError)
# a recording's values in summary.csv, as its report prints them: a slice's FAC and a stack's RV too
SUMMARY_VALUES = ("edv_ml", "esv_ml", "sv_ml", "ef_pct", "heart_rate_bpm", "gls_pct", "lv_mass_g", "fac_pct",
                  "rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct")
SUMMARY_COLUMNS = ("source", "series_key", "status", "resumed", "error", "modality", "view", "frames",
                   "calibrated", "method", *SUMMARY_VALUES, "beats", "flagged_frames", "notes", "outputs", "seconds")

# analyze(item, on_progress(Progress)) -> RecordingAnalysis
AnalyzeFn = Callable[[BatchItem, Callable[[Progress], None]], RecordingAnalysis]

RESUME_NOTE = "interrupted: run the same command again to resume"


@dataclass(frozen=True)
class BatchOutputs:
    """What the exporter wrote for one item: {kind: file name}, the measurements as the report prints them
    (JSON) and the item's row of summary.csv."""

    files: dict[str, str]
    measurements: dict[str, Any]
    row: dict[str, Any]


ExportFn = Callable[[RecordingAnalysis, Path], BatchOutputs]


@dataclass
class BatchSummary:
    out_dir: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    summary_csv: Path | None = None
    interrupted: bool = False


def default_analyze(options: AnalysisOptions = AnalysisOptions()) -> AnalyzeFn:
    """The one analysis of a file (app.workflow.analyze.analyze_file) with the options (view, body size,
    network, strain) of `analyze --out`, as single-file `analyze` applies them."""

    def analyze(item: BatchItem, on_progress: Callable[[Progress], None]) -> RecordingAnalysis:
        from dataclasses import replace

        result = run_task(analyze_file(item.path, replace(options, series_key=item.series_key)), on_progress)
        if result is None:
            raise RuntimeError("the analysis returned no result")
        return result

    return analyze


def is_finished(item: BatchItem, out_dir: Path, settings: dict[str, Any] | None = None) -> bool:
    """A result file with status ok (or left out), the same source size and mtime and (when given) the same
    settings exists."""
    path = out_dir / f"{item.result_name}.result.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if data.get("format") != RESULT_FORMAT or data.get("status") not in ("ok", LEFT_OUT):
        return False
    if settings is not None and data.get("settings") != _as_json(settings):
        return False
    stamp = source_stamp(item)
    old = data.get("source", {})
    return bool(old.get("size") == stamp["size"] and old.get("mtime_ns") == stamp["mtime_ns"])


def _as_json(settings: dict[str, Any]) -> Any:
    """The settings as a result file holds them (lists for tuples), so the two compare equal."""
    return json.loads(json.dumps(settings, default=str))


def run_batch(items: list[BatchItem], out_dir: str | Path, analyze: AnalyzeFn, export: ExportFn,
              stream: TextIO | None = None, cancel: Cancel = None, workers: int | None = None,
              scheduler: str | None = None, settings: dict[str, Any] | None = None) -> BatchSummary:
    """Analyze the items in order (see the module docstring). cancel: threading.Event or callable;
    when it fires the run stops before the next item with summary.interrupted set (resumable).
    workers / scheduler: one Dask task per item instead, on a local cluster of `workers` processes or the
    cluster at `scheduler` (app/workflow/cohort.py), with the same progress, cancel and summary. settings: what
    the run was asked (JSON-able), kept in each result file: a result made with other settings is not resumed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bar = TerminalProgress(stream if stream is not None else sys.stderr, total=len(items))
    summary = BatchSummary(out_dir)
    try:
        if workers or scheduler:
            _run_on_cluster(items, summary, analyze, export, bar, cancel, workers, scheduler, settings)
        else:
            _run_here(items, summary, analyze, export, bar, cancel, settings)
    except KeyboardInterrupt:
        summary.interrupted = True
        bar.note(RESUME_NOTE)
    finally:
        bar.close()
        summary.summary_csv = write_summary(items, out_dir, set(summary.skipped))
    if summary.interrupted and not is_cancelled(cancel):
        raise KeyboardInterrupt(RESUME_NOTE)  # said already (bar.note): the entry point says nothing more
    return summary


def _run_here(items: list[BatchItem], summary: BatchSummary, analyze: AnalyzeFn, export: ExportFn,
              bar: TerminalProgress, cancel: Cancel, settings: dict[str, Any] | None = None) -> None:
    out_dir, manifest, total = summary.out_dir, _read_manifest(summary.out_dir), len(items)
    for i, item in enumerate(items):
        if is_cancelled(cancel):
            summary.interrupted = True
            bar.note(f"{i + 1}/{total} {item.label}: cancelled: run again to resume")
            return
        if is_finished(item, out_dir, settings):
            summary.skipped.append(item.key)
            bar.note(f"{i + 1}/{total} {item.label}: already done, skipped")
            _index_finished(manifest, item, out_dir)
            continue

        def on_progress(p: Progress, i: int = i, item: BatchItem = item) -> None:
            bar.show(i + p.fraction, f"{i + 1}/{total} {item.label}: {p.message}")

        status = _run_one(item, on_progress, out_dir=out_dir, analyze=analyze, export=export, settings=settings)
        _list_of(summary, status["status"]).append(item.key)
        bar.note(f"{i + 1}/{total} {item.label}: " + _status_text(status["status"], status["error"]))
        bar.show(i + 1)
        manifest["items"][item.key] = status
        _write_json(out_dir / "manifest.json", manifest)


def _run_on_cluster(items: list[BatchItem], summary: BatchSummary, analyze: AnalyzeFn, export: ExportFn,
                    bar: TerminalProgress, cancel: Cancel, workers: int | None, scheduler: str | None,
                    settings: dict[str, Any] | None = None) -> None:
    from functools import partial

    from app.workflow.cohort import run_cohort

    out_dir, manifest, total = summary.out_dir, _read_manifest(summary.out_dir), len(items)
    labels = {item.key: item.label for item in items}
    running: dict[str, float] = {}  # key -> fraction of the tasks now running
    finished = [0]

    def record(outcome: Outcome[BatchItem]) -> None:
        finished[0] += 1
        running.pop(outcome.key, None)
        _list_of(summary, outcome.status).append(outcome.key)
        text = "already done, skipped" if outcome.status == "skipped" else _status_text(outcome.status,
                                                                                         outcome.error)
        bar.note(f"{finished[0]}/{total} {labels[outcome.key]}: {text}")
        bar.show(finished[0] + sum(running.values()))
        if outcome.status != "skipped":
            manifest["items"][outcome.key] = outcome.value or {"status": "failed", "error": outcome.error}
            _write_json(out_dir / "manifest.json", manifest)
        else:
            _index_finished(manifest, outcome.item, out_dir)

    def progress(key: str, p: Progress) -> None:
        running[key] = p.fraction
        bar.show(finished[0] + sum(running.values()), f"{labels[key]}: {p.message}")

    done = run_cohort(items, partial(_run_one, out_dir=out_dir, analyze=analyze, export=export, settings=settings),
                      key=lambda item: item.key, is_done=partial(is_finished, out_dir=out_dir, settings=settings),
                      workers=workers,
                      scheduler=scheduler, on_outcome=record, on_progress=progress, cancel=cancel,
                      worker_setup=one_core_worker)
    if done.interrupted:
        summary.interrupted = True
        bar.note("cancelled: run again to resume")


def _list_of(summary: BatchSummary, status: str) -> list[str]:
    return {"ok": summary.done, "skipped": summary.skipped, LEFT_OUT: summary.left_out}.get(status, summary.failed)


def _status_text(status: str, error: str) -> str:
    if status == LEFT_OUT:
        return f"left out: {error}"
    return "ok" if status == "ok" else f"FAILED: {error}"


def one_core_worker() -> None:
    """A cohort worker's start: one thread for torch and for OpenCV, whose own pool (resizing, optical flow)
    OMP_NUM_THREADS does not limit: a worker is one task on one core, and with a pool of one thread per core
    two workers on two cores ran four threads. And the allocator of a single analysis (app.ml.device
    tune_allocator): Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which hands every frame's
    buffers back to the system and faults them in again (benchmarks/cohort.py; figures in benchmarks/NOTES.md)."""
    from app.ml.device import set_threads, tune_allocator

    set_threads(1)
    tune_allocator(over_environment=True)


def _run_one(item: BatchItem, on_progress: Callable[[Progress], None], *, out_dir: Path, analyze: AnalyzeFn,
             export: ExportFn, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    started = time.monotonic()
    stamp = source_stamp(item)
    record: dict[str, Any] = {"format": RESULT_FORMAT, "version": 1, "source": {"path": str(item.path), **stamp},
              "series_key": item.series_key, "result": f"{item.result_name}.result.json"}
    if settings is not None:
        record["settings"] = _as_json(settings)
    try:
        analysis = analyze(item, on_progress)
        out = export(analysis, out_dir / item.result_name)
        record.update(status="ok", error="", outputs=out.files, summary=out.row, measurements=out.measurements,
                      analysis=analysis.to_json_dict())
    except KeyboardInterrupt:
        raise
    except NotAnalyzableError as exc:  # a colour Doppler clip among the exam's files: said, not failed
        record.update(status=LEFT_OUT, error=_error_text(exc), outputs={}, summary={}, traceback="")
    except Exception as exc:  # noqa: BLE001 - any failure of one file is reported, the batch goes on
        record.update(status="failed", error=_error_text(exc), outputs={}, summary={},
                      traceback=traceback.format_exc(limit=6) if not _expected(exc) else "")
    record["seconds"] = round(time.monotonic() - started, 3)
    _write_json(out_dir / record["result"], record)
    return _manifest_entry(record)


def _manifest_entry(record: dict[str, Any]) -> dict[str, Any]:
    """An item's entry in manifest.json, from its result file's record."""
    return {k: record.get(k) for k in ("status", "error", "result", "seconds")} | {"source": record.get("source")}


def _index_finished(manifest: dict[str, Any], item: BatchItem, out_dir: Path) -> None:
    """Put an item found already done into manifest.json when it is missing there: a batch stopped by Ctrl+C can
    have written an item's result file and not its entry, and each later run then skipped it unindexed."""
    if item.key in manifest["items"]:
        return
    try:
        record = json.loads((out_dir / f"{item.result_name}.result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    manifest["items"][item.key] = _manifest_entry(record)
    _write_json(out_dir / "manifest.json", manifest)


def _expected(exc: Exception) -> bool:
    from app.data.errors import LoadError
    from app.workflow.results import AnalysisError

    return isinstance(exc, (LoadError, AnalysisError, ValueError, OSError))


def _error_text(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if _expected(exc) else f"{exc.__class__.__name__}: {text}"


def write_summary(items: list[BatchItem], out_dir: Path, resumed: set[str]) -> Path:
    """summary.csv: one row per item from its result file ("not run" when it has none yet), then one per result of
    an earlier run into the same folder that this run was not given (the folder's summary stays whole)."""
    path = out_dir / "summary.csv"
    keys = {item.key for item in items}
    earlier = [entry for key, entry in _read_manifest(out_dir)["items"].items()
               if key not in keys and isinstance(entry, dict) and entry.get("result")]
    with atomic_target(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for item in items:
                writer.writerow(_summary_row(str(item.path), item.series_key, out_dir / f"{item.result_name}"
                                             ".result.json", item.key in resumed))
            for entry in earlier:
                source = entry.get("source") or {}
                writer.writerow(_summary_row(str(source.get("path", "")), None, out_dir / entry["result"], True))
    return path


def _summary_row(source: str, series_key: str | None, result: Path, resumed: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"source": source, "series_key": series_key or "", "status": "not run",
                           "resumed": "yes" if resumed else "no"}
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return row
    row["series_key"] = series_key or data.get("series_key") or ""
    row.update(status=data.get("status", ""), error=data.get("error", ""), seconds=data.get("seconds", ""),
               outputs=" ".join(sorted((data.get("outputs") or {}).values())))
    row.update(data.get("summary") or {})
    return row


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("items"), dict):
            return data
    except (OSError, ValueError):
        pass
    return {"format": MANIFEST_FORMAT, "version": 1, "items": {}}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
