"""Cohorts on Dask (app/workflow/cohort.py): `analyze --out DIR --workers 2` on a 2-worker local cluster.

Phantom clips are analyzed by the real pipeline, one Dask task each; a corrupt file is reported with its
error while the others succeed; the same command again resumes without re-analyzing.
"""

from __future__ import annotations

import csv
import io
import platform
from pathlib import Path

import pydicom
import pytest
from readers_helpers import add_region

from app.cli import main
from app.data.phantom import EchoPhantomParams, make_echo
from app.data.writers import write_recording
from app.workflow.cohort import run_cohort

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cohort_inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cohort_in")
    for seed in (1, 2, 3):
        case = make_echo(EchoPhantomParams(beats=1, frame_rate_hz=20.0, image_shape_px=(112, 112)), seed=seed)
        write_recording(case.recording, folder / f"phantom{seed}.dcm")
    (folder / "corrupt.dcm").write_bytes(b"DICM" + bytes(range(256)) * 8)
    write_recording(case.recording, folder / "colour.dcm")  # a colour Doppler clip of the exam (its flow region)
    ds = pydicom.dcmread(folder / "colour.dcm")
    add_region(ds, 1, 2, (10, 10, 100, 100))
    ds.save_as(folder / "colour.dcm")
    return folder


def _rows(out: Path) -> dict[str, dict]:
    with (out / "summary.csv").open(encoding="utf-8") as handle:
        return {Path(r["source"]).name: r for r in csv.DictReader(handle)}


def test_two_workers_analyze_the_cohort_report_the_corrupt_file_and_resume(cohort_inputs, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["analyze", str(cohort_inputs), "--out", str(out), "--exports", "none", "--workers", "2"]
    assert main(args) == 2  # one recording failed
    rows = _rows(out)
    assert {name: r["status"] for name, r in rows.items()} == {
        "phantom1.dcm": "ok", "phantom2.dcm": "ok", "phantom3.dcm": "ok", "corrupt.dcm": "failed",
        "colour.dcm": "left out"}
    assert "colour Doppler" in rows["colour.dcm"]["error"] and rows["colour.dcm"]["ef_pct"] == ""
    assert rows["corrupt.dcm"]["error"]
    for name in ("phantom1.dcm", "phantom2.dcm", "phantom3.dcm"):
        # the shipped echo model on these phantoms (true EF 58.3 %): measured -1.9, -0.6, -1.1 points
        assert float(rows[name]["ef_pct"]) == pytest.approx(58.3, abs=3.5)
    err = capsys.readouterr().err
    assert "3 analyzed, 0 already done, 1 left out (why: summary.csv), 1 failed" in err
    results = sorted(out.glob("phantom*.result.json")) + sorted(out.glob("colour*.result.json"))
    stamps = {p.name: p.stat().st_mtime_ns for p in results}

    assert main(args) == 2  # the corrupt file is retried and fails again; the others are not re-analyzed
    err = capsys.readouterr().err
    assert "0 analyzed, 4 already done, 1 failed" in err  # the colour clip is not loaded again
    assert {p.name: p.stat().st_mtime_ns for p in results} == stamps
    assert all(r["resumed"] == "yes" for n, r in _rows(out).items() if n != "corrupt.dcm")


def test_a_failing_task_is_reported_and_the_others_finish():
    def _square_or_fail(n: int, on_progress) -> int:  # nested: shipped to the workers by value
        if n == 3:
            raise ValueError("three is refused")
        return n * n

    seen = []
    summary = run_cohort(list(range(6)), _square_or_fail, key=lambda n: f"n{n}", is_done=lambda n: n == 5,
                         workers=2, on_outcome=lambda o: seen.append((o.key, o.status)))
    assert summary.workers == 2
    assert summary.done == ["n0", "n1", "n2", "n4"] and summary.skipped == ["n5"]
    assert summary.errors == {"n3": "ValueError: three is refused"}
    assert [o.value for o in summary.outcomes if o.status == "ok"] == [0, 1, 4, 16]
    assert sorted(seen) == [("n0", "ok"), ("n1", "ok"), ("n2", "ok"), ("n3", "failed"), ("n4", "ok"), ("n5", "skipped")]
    assert not summary.interrupted


def test_task_progress_reaches_this_process_and_cancel_stops_the_rest():
    """As in a local run: a task's progress on a worker comes back (fraction, message, per item), and cancel
    stops the run with the unfinished items left for the next one."""

    def _slow(n: int, on_progress) -> int:  # nested: shipped to the workers by value
        import time

        from app.tasks import Progress

        on_progress(Progress(0.5, f"half of {n}"))
        time.sleep(1.0)
        return n

    progress, outcomes = [], []
    summary = run_cohort(list(range(4)), _slow, key=lambda n: f"n{n}", workers=1,
                         on_progress=lambda key, p: progress.append((key, p.fraction, p.message)),
                         on_outcome=outcomes.append, cancel=lambda: len(outcomes) >= 1)
    assert ("n0", 0.5, "half of 0") in progress
    assert summary.interrupted and summary.done == ["n0"] and len(summary.outcomes) == 1


def test_batch_workers_run_one_thread_of_torch_and_of_opencv():
    """Each worker is one task on one core: OpenCV's own pool (2 threads here) would oversubscribe the cores."""
    from app.workflow.batch import one_core_worker

    def _threads(_: int, on_progress) -> tuple[int, int]:  # nested: shipped to the workers by value
        import cv2
        import torch

        return torch.get_num_threads(), cv2.getNumThreads()

    summary = run_cohort(list(range(4)), _threads, workers=2, worker_setup=one_core_worker)
    assert {o.value for o in summary.outcomes} == {(1, 1)}


def _kept_after_free_mb(_: int, on_progress) -> float:
    """Resident MB still held after a 20 MB buffer is freed in this process (/proc: Linux only)."""
    import numpy as np

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2 ** 20

    before = rss_mb()
    buffer = np.ones(20 * 2 ** 20 // 8)
    del buffer
    return rss_mb() - before


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_batch_workers_keep_freed_frame_buffers_for_the_next_frame():
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536: a freed buffer went back to the system and
    was faulted in again for the next frame (tasks 1.7x slower than in one process). The worker set-up tunes the
    allocator as a single analysis does: a freed 20 MB buffer stays in the heap for the next frame."""
    from app.workflow.batch import one_core_worker

    # The untuned arm shows the premise; it kept the buffer once in a full suite run (not reproduced in 15 runs
    # alone), so it is asked twice: the claim under test is the tuned arm's.
    plain = run_cohort([0], _kept_after_free_mb, workers=1).outcomes[0].value
    if plain >= 5.0:
        plain = run_cohort([0], _kept_after_free_mb, workers=1).outcomes[0].value
    tuned = run_cohort([0], _kept_after_free_mb, workers=1, worker_setup=one_core_worker)
    assert plain < 5.0 and tuned.outcomes[0].value > 15.0


def test_workers_without_out_is_a_usage_error(cohort_inputs, capsys):
    assert main(["analyze", str(cohort_inputs / "phantom1.dcm"), "--workers", "2"]) == 2
    assert "--out" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_clear_line(cohort_inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("app.workflow.cohort.CONNECT_TIMEOUT_S", 2)
    args = ["analyze", str(cohort_inputs / "phantom1.dcm"), "--out", str(tmp_path / "o"), "--exports", "none",
            "--scheduler", "tcp://127.0.0.1:9"]
    assert main(args) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_batch_on_workers_draws_each_analysis_progress_and_stops_on_cancel(cohort_inputs, tmp_path):
    """`analyze --out --workers`: the bar shows the analysis running on a worker as the local batch does, and
    cancel stops before the remaining recordings (which the next run then analyzes)."""
    from app.report.exporter import ExportOptions, batch_export
    from app.workflow.analyze import AnalysisOptions
    from app.workflow.batch import default_analyze, run_batch
    from app.workflow.batch_inputs import BatchItem

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    items = [BatchItem(cohort_inputs / f"phantom{seed}.dcm") for seed in (1, 2, 3)]
    analyze, export = default_analyze(AnalysisOptions(strain=False)), batch_export(ExportOptions(kinds=()))
    stream = Terminal()
    summary = run_batch(items, tmp_path / "out", analyze, export, stream=stream, workers=1,
                        cancel=lambda: "phantom1.dcm: ok" in stream.getvalue())
    text = stream.getvalue()
    assert summary.interrupted and summary.done == [items[0].key] and not summary.failed
    frames = [f for f in text.split("\r") if "%|" in f and "phantom1.dcm: " in f]
    assert frames, text  # the worker's progress, drawn in this process
    assert "1/3 phantom1.dcm: ok\n" in text and "cancelled: run again to resume" in text
    again = run_batch(items, tmp_path / "out", analyze, export, stream=io.StringIO(), workers=1)
    # a task already running when cancelled may still finish and write its result: then it is resumed too
    assert items[0].key in again.skipped and len(again.skipped + again.done) == 3 and not again.interrupted


@pytest.mark.parametrize("greeting", [b"SSH-2.0-OpenSSH_9.2\r\n", None])
def test_a_service_that_is_no_dask_scheduler_is_one_clear_line_in_time(cohort_inputs, tmp_path, capsys, monkeypatch,
                                                                        greeting):
    """A server that greets first had given 'internal error: MemoryError: Unable to allocate 2.82 EiB' (exit 1);
    one that waits silently (a web server) had hung the batch for good."""
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    held = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if greeting:
                conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setattr("app.workflow.cohort.CONNECT_TIMEOUT_S", 2)
    args = ["analyze", str(cohort_inputs / "phantom1.dcm"), "--out", str(tmp_path / "o"), "--exports", "none",
            "--scheduler", f"tcp://127.0.0.1:{port}"]
    started = time.monotonic()
    try:
        assert main(args) == 2
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - started < 30
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in capsys.readouterr().err
