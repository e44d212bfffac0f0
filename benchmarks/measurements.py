"""Measurement accuracy and speed: the analysis pipeline on phantom clips with their truth labels.

Usage: .venv/bin/python benchmarks/measurements.py [--cases 8] [--seed 100]

For each phantom clip (views, EF, heart rate, frame rate and start phase varied; truth labels injected as
the segmenter, so this measures contours + disks + ED/ES + beats, not the network) prints the largest
per-frame volume error against truth.volume_ml, EDV/ESV/EF errors, and the ED/ES frame differences; then the time
the measuring step (`app.workflow.analyze.measure`) takes for 100 frames (what the viewer pays after each edit).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.data.phantom import EchoPhantomParams, HeartParams, make_echo  # noqa: E402
from app.tasks import run_task  # noqa: E402
from app.workflow.analyze import (
    analyze_recording,  # noqa: E402
    measure,  # noqa: E402
)


def _frame_diffs(found, truth) -> tuple[list[int], int]:
    """|found - nearest truth| per truth event, and the count of unmatched events (either side)."""
    diffs = [int(min(abs(np.array(found) - t))) for t in truth] if found else []
    unmatched = abs(len(found) - len(truth)) + sum(d > 2 for d in diffs)
    return diffs, unmatched


def run_case(rng: np.random.Generator, index: int) -> dict:
    view = ("a4c", "a2c", "a3c")[index % 3]
    edv = float(rng.uniform(90, 200))
    ef = float(rng.uniform(20, 70))
    heart = HeartParams(edv_ml=edv, esv_ml=edv * (1 - ef / 100), heart_rate_bpm=float(rng.uniform(55, 110)),
                        start_phase=float(rng.uniform(0, 0.99)))
    fps = float(rng.choice([25.0, 30.0, 50.0, 70.0]))
    params = EchoPhantomParams(heart=heart, view=view, beats=int(rng.integers(2, 4)), frame_rate_hz=fps,
                               image_shape_px=(192, 192), quality="good")
    case = make_echo(params, seed=int(rng.integers(1 << 30)))
    truth = case.truth
    analysis = run_task(analyze_recording(case.recording, segmenter=lambda r: truth))
    m = analysis.measurements
    true_edv = float(np.mean(truth.volume_ml[list(truth.ed_frames)]))
    true_esv = float(np.mean(truth.volume_ml[list(truth.es_frames)]))
    ed_d, ed_bad = _frame_diffs(m.ed_frames, truth.ed_frames)
    es_d, es_bad = _frame_diffs(m.es_frames, truth.es_frames)
    return {
        "view": view,
        "fps": fps,
        "hr": heart.heart_rate_bpm,
        "frames": case.recording.n_frames,
        "vol_err_max_pct": float(np.nanmax(np.abs(m.volume_curve_ml / truth.volume_ml - 1)) * 100),
        "edv_err_pct": (m.edv_ml / true_edv - 1) * 100 if m.edv_ml else float("nan"),
        "esv_err_pct": (m.esv_ml / true_esv - 1) * 100 if m.esv_ml else float("nan"),
        "ef_err": (m.ef_pct - 100 * (1 - true_esv / true_edv)) if m.ef_pct is not None else float("nan"),
        "ed_diffs": ed_d,
        "es_diffs": es_d,
        "unmatched": ed_bad + es_bad,
        "events": f"ED {list(m.ed_frames)} vs {list(truth.ed_frames)}, "
        f"ES {list(m.es_frames)} vs {list(truth.es_frames)}",
    }


def measure_speed(n_frames: int = 100) -> float:
    case = make_echo(EchoPhantomParams(beats=3, frame_rate_hz=40, image_shape_px=(192, 192)), seed=5)
    rec = case.recording
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: case.truth))
    contours = list(analysis.contours)
    reps = int(np.ceil(n_frames / len(contours)))
    contours = (contours * reps)[:n_frames]
    from dataclasses import replace

    times = np.arange(n_frames) / 40.0
    long_rec = replace(rec, frames=np.zeros((n_frames, 2, 2), np.uint8), frame_times_s=times)
    measure(long_rec, contours)
    wall, cpu = [], []
    for _ in range(10):
        t0, c0 = time.perf_counter(), time.process_time()
        measure(long_rec, contours)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall) * 1000), float(np.median(cpu) * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = [run_case(rng, i) for i in range(args.cases)]
    print(f"{'view':5} {'fps':>4} {'HR':>4} {'T':>4} {'maxVolErr%':>10} {'EDV%':>6} {'ESV%':>6} {'EFpts':>6} "
          f"{'ED |df|':>10} {'ES |df|':>10} {'miss':>4}")
    for r in rows:
        print(f"{r['view']:5} {r['fps']:4.0f} {r['hr']:4.0f} {r['frames']:4d} {r['vol_err_max_pct']:10.2f} "
              f"{r['edv_err_pct']:6.2f} {r['esv_err_pct']:6.2f} {r['ef_err']:6.2f} "
              f"{str(r['ed_diffs']):>10} {str(r['es_diffs']):>10} {r['unmatched']:4d}")
        if r["unmatched"]:
            print(f"      {r['events']}")
    all_ed = [d for r in rows for d in r["ed_diffs"]]
    all_es = [d for r in rows for d in r["es_diffs"]]
    print(
        f"\nsummary over {len(rows)} clips: "
        f"max per-frame volume error {max(r['vol_err_max_pct'] for r in rows):.2f} %, "
        f"EF error mean {np.nanmean([r['ef_err'] for r in rows]):+.2f} SD {np.nanstd([r['ef_err'] for r in rows]):.2f} "
        f"(max |{np.nanmax(np.abs([r['ef_err'] for r in rows])):.2f}|) points; "
        f"aFD ED {np.mean(all_ed):.2f} ES {np.mean(all_es):.2f} frames; "
        f"unmatched events {sum(r['unmatched'] for r in rows)}"
    )
    wall_ms, cpu_ms = measure_speed()
    print(f"measure, 100 frames: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU (median of 10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
