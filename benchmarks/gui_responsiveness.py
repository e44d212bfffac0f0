"""How long does the GUI thread stall, with and without an analysis running in the worker?

A probe timer fires every 5 ms on the GUI thread; a stall is the extra delay between two firings.
Scenarios: opening a file (--path, default the demo A4C clip: the time to its first frame on screen);
idle playback; playback while the analysis (segmentation by the phantom's truth labels or the installed
model, contour tracing, measurements, strain with DIS optical flow) runs in the worker thread, with the time
to the first contour drawn and the stalls while the contours stream in (from the first contour to the end);
and a burst of contour edits (each recomputes the measurements on the GUI thread; each is propagated ±3
frames and the strain re-tracked in workers; the autosave that follows, timed on its own too: the phantom is read
from a DICOM file, as a user's recording is). The first contour is seen by polling the overlay on screen,
so the same script measures a version without streaming (contours only when the analysis ends).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--model] [--frames-px 256]
        [--edit-runs 5] [--open-only] [--stall-stacks STACKS.txt [--stall-ms 60]]

Prints a table of max / p99 / median stall in ms and the number of stalls over 100 ms. --stall-stacks writes every
thread's Python stack at each stall longer than --stall-ms (faulthandler's watchdog), under the scenario's name.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROBE_MS = 5


class StallProbe:
    """The 5 ms probe. With `stacks` (an open text file), faulthandler's watchdog, a C thread that needs no
    interpreter lock, writes every thread's Python stack there whenever the GUI thread has not ticked for
    `stack_ms`: what the GUI thread was doing, or which thread it was waiting for, at each stall (a sampler
    thread in Python is starved with the GUI thread)."""

    def __init__(self, stacks=None, stack_ms: float = 60.0):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps_ms: list[float] = []
        self._last = None
        self.stacks, self.stack_s = stacks, stack_ms / 1000.0

    def start(self, name: str = ""):
        self.gaps_ms.clear()
        self._last = time.perf_counter()
        self.timer.start()
        if self.stacks is not None:
            self.stacks.write(f"=== {name}\n")
            self.stacks.flush()
            self._arm()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        if self.stacks is not None:
            import faulthandler

            faulthandler.cancel_dump_traceback_later()
        return np.maximum(np.asarray(self.gaps_ms) - PROBE_MS, 0.0)

    def _tick(self):
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last) * 1000.0)
        self._last = now
        if self.stacks is not None:
            self._arm()

    def _arm(self):
        import faulthandler

        faulthandler.dump_traceback_later(self.stack_s, repeat=False, file=self.stacks)


def wait_while(app, busy, deadline: float) -> None:
    """Process events while `busy()`, until the time.monotonic() `deadline`."""
    while busy() and time.monotonic() < deadline:
        run_for(app, 0.05)


def run_for(app, seconds: float, until=None, watch=None) -> None:
    """Process events for `seconds` or until `until()`; `watch()` is called after each turn."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and not (until and until()):
        app.processEvents()
        if watch is not None:
            watch()
        time.sleep(0.001)


class FirstContour:
    """The time the overlay first shows an endocardium (polled after each turn of the event loop)."""

    def __init__(self, window):
        self.item = window.overlays.items["endo"]
        self.at_s: float | None = None

    def __call__(self):
        if self.at_s is None:
            x = self.item.getData()[0]
            if x is not None and len(x):
                self.at_s = time.perf_counter()


def open_file(app, window, path: Path, probe: StallProbe) -> tuple[float, np.ndarray]:
    """Open `path` as the user does (File > Open); the ms until its first frame is on screen, and the stalls."""
    from PySide6.QtCore import QTimer

    probe.start(f"open {path.name}")
    t0 = time.perf_counter()
    QTimer.singleShot(0, lambda: window.open_paths([path]))  # as a menu action: from the event loop
    image = window.cine.image
    run_for(app, 60.0, until=lambda: image.image is not None and image.width() is not None)
    app.processEvents()  # the paint that puts it on screen
    first_ms = (time.perf_counter() - t0) * 1000
    run_for(app, 0.3)
    return first_ms, probe.stop()


def row(name: str, stalls: np.ndarray, extra: str = "") -> str:
    if stalls.size == 0:
        return f"{name:<34} {'-':>8} {'-':>8} {'-':>8} {'-':>6}  {extra}"
    return (f"{name:<34} {stalls.max():8.1f} {np.percentile(stalls, 99):8.1f} {np.median(stalls):8.1f} "
            f"{int((stalls > 100).sum()):6d}  {extra}")


EDITS = 20


def edit_burst(app, window, probe: StallProbe, name: str) -> str:
    """EDITS contour corrections 20 ms apart, as the editor pushes them (each remeasured on the GUI thread,
    propagated +-3 frames in the worker), then the strain re-tracking that follows; the table row with the
    95th percentile stall added (the stalls of the probe's 5 ms ticks)."""
    from app.workflow.edits import ContourEdit
    from app.workflow.propagate import PropagationRange

    st, n_frames = window.state, window.state.recording.n_frames  # the phantom (the opened file is recording 0)
    stack = window.controller.undo_stack
    before = stack.index()
    saves_ms = []
    controller, autosave = window.controller, window.controller.autosave

    def timed_save(*args):  # the autosave after the burst: its part on the GUI thread
        t = time.perf_counter()
        out = autosave(*args)
        saves_ms.append((time.perf_counter() - t) * 1000)
        return out

    controller.save_timer.timeout.disconnect()
    controller.save_timer.timeout.connect(timed_save)
    def saving() -> bool:
        return bool(controller.scheduler.pending or controller.background.pending())

    def tracking() -> bool:
        return window.edits.propagation.busy() or window.edits.retrack.busy(window.index)

    deadline = time.monotonic() + 300
    wait_while(app, lambda: saving() or tracking(), deadline)  # what the analysis left is not the edits'
    probe.start(name)
    t0 = time.perf_counter()
    for k in range(EDITS):
        frame = k % n_frames
        old = st.contour((0, frame), "endo")
        if old is None:
            continue
        window.edits.propagation.push(
            ContourEdit(
                window.index, (0, frame), "endo", old.moved(3, old.points_px[3] + 1.0), old, PropagationRange(3, 3)
            )
        )  # as the editor does
        run_for(app, 0.02)
    edit_ms = (time.perf_counter() - t0) * 1000 / EDITS - 20
    deadline = time.monotonic() + 300
    wait_while(app, tracking, deadline)  # the propagations (worker) and the strain re-tracking that follow
    after_s = time.perf_counter() - t0
    wait_while(app, saving, deadline)  # the autosave, DEBOUNCE_S after the edits, and its thread's write
    run_for(app, 0.05)  # the probe's next tick after it (the stall is the gap before that tick)
    stalls = probe.stop()
    controller.save_timer.timeout.disconnect()
    controller.save_timer.timeout.connect(autosave)
    while stack.index() > before:  # the next run starts from the automatic contours again
        stack.undo()
    while window.edits.retrack.busy(window.index) and time.monotonic() < deadline:
        run_for(app, 0.05)
    p95 = np.percentile(stalls, 95) if stalls.size else float("nan")
    saved = f"autosave {max(saves_ms):.0f} ms on the GUI thread" if saves_ms else "no autosave"
    return row(name, stalls, f"p95 {p95:.1f} ms; ~{edit_ms:.0f} ms per edit; propagated ±3 and GLS re-tracked "
               f"by {after_s:.1f} s; {saved}")


def file_backed(recording):
    """The phantom as a user has it: read from a DICOM file (so its edits are autosaved, into a temporary data
    folder: CARDIOTRACE_DATA_DIR, unless set)."""
    import tempfile

    from app.data.readers import load_recording
    from app.data.writers.dicom_us import write_us_dicom

    folder = Path(tempfile.mkdtemp(prefix="cardiotrace_gui_bench_"))
    os.environ.setdefault("CARDIOTRACE_DATA_DIR", str(folder / "autosave"))
    return load_recording(write_us_dicom(recording, folder / "phantom.dcm")).with_view(recording.view)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="store_true", help="segment with the installed model, not the truth")
    parser.add_argument("--frames-px", type=int, default=256, help="phantom image size (square)")
    parser.add_argument("--beats", type=int, default=2)
    parser.add_argument("--path", type=Path, default=Path(__file__).resolve().parents[1] / "resources/demo/a4c.dcm",
                        help="file opened for the time to first frame (default: the demo A4C clip)")
    parser.add_argument("--edit-runs", type=int, default=1, help="bursts of contour edits to time")
    parser.add_argument("--open-only", action="store_true", help="only start-up and opening --path")
    parser.add_argument("--stall-stacks", type=Path, help="write every thread's stack at each stall to this file")
    parser.add_argument("--stall-ms", type=float, default=60.0, help="the stall --stall-stacks writes at")
    args = parser.parse_args(argv)

    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo
    from app.ui.main import create_app
    from app.ui.main_window import MainWindow

    t0 = time.perf_counter()
    case = make_echo(EchoPhantomParams(heart=HeartParams(edv_ml=130, esv_ml=60), view="a4c", beats=args.beats,
                                       frame_rate_hz=50.0, image_shape_px=(args.frames_px, args.frames_px)), seed=7)
    rec = file_backed(case.recording)
    print(f"phantom: {rec.frames.shape} rendered in {time.perf_counter() - t0:.1f} s; "
          f"{os.cpu_count()} CPUs; Qt platform {os.environ['QT_QPA_PLATFORM']}")
    app = create_app()
    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    window.controller.segmenter_for = (lambda r: None) if args.model else (lambda r: (lambda rr: case.truth.labels))
    probe = StallProbe(open(args.stall_stacks, "w") if args.stall_stacks else None, args.stall_ms)
    lines = [f"{'scenario':<34} {'max ms':>8} {'p99 ms':>8} {'p50 ms':>8} {'>100ms':>6}"]
    # as app.ui.main.run_gui: the device probe and the import warm-up run in a worker once the window is up
    probe.start("start-up")
    t0 = time.perf_counter()
    device = window.load_device_label()
    run_for(app, 120.0, until=device.isFinished)
    lines.append(row("start-up: device probe + warm-up", probe.stop(), f"{time.perf_counter() - t0:.1f} s, "
                     "nothing playing yet"))
    first_frame_ms, stalls = open_file(app, window, args.path, probe)
    lines.append(row(f"open {args.path.name}", stalls, f"first frame on screen after {first_frame_ms:.0f} ms"))
    if args.open_only:
        print("\n".join(lines))
        window.close()
        return 0
    window.controller.add_recording(rec)
    run_for(app, 0.5)

    window.cine.set_playing(True)
    probe.start("playback only")
    run_for(app, 3.0)
    lines.append(row("playback only (3 s)", probe.stop()))

    done, handling_ms = [], []
    window.controller.analysis_done.connect(lambda i, ok: done.append(ok))
    original = window.controller._analysis_succeeded

    def timed(index, result, *args):  # the part of the analysis that runs on the GUI thread (args: keep_edits)
        t = time.perf_counter()
        original(index, result, *args)
        handling_ms.append((time.perf_counter() - t) * 1000)

    window.controller._analysis_succeeded = timed
    first = FirstContour(window)
    probe.start("playback + analysis")
    t0 = time.perf_counter()
    window.analyze_current()
    run_for(app, 300.0, until=lambda: bool(done), watch=first)
    elapsed = time.perf_counter() - t0
    gaps = np.asarray(probe.gaps_ms)
    stalls = probe.stop()
    ok = bool(done and done[0])
    lines.append(row("playback + analysis in worker", stalls, f"analysis {elapsed:.1f} s, ok={ok}, result taken "
                     f"on the GUI thread in {handling_ms[0] if handling_ms else float('nan'):.0f} ms"))
    first_s = (first.at_s or time.perf_counter()) - t0
    streaming = stalls[np.cumsum(gaps) / 1000 >= first_s]  # the probe's gaps since the first contour
    lines.append(row("  from first contour to the end", streaming,
                     f"first contour drawn {first_s * 1000:.0f} ms after Analyze "
                     f"({first_s / max(elapsed, 1e-9):.0%} of the analysis)"))
    window.cine.set_playing(False)

    if ok and window.state.contours:
        for run in range(args.edit_runs):
            lines.append(edit_burst(app, window, probe, f"{EDITS} contour edits, run {run + 1}"))
    print("\n".join(lines))
    window.controller.undo_stack.clear()
    window.controller.wait_for_workers()
    window.controller.scheduler = type(window.controller.scheduler)()  # in-memory: nothing to save
    window.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
