"""What the colour Doppler check (app/data/readers/colour_flow.py) adds to reading a colour echo DICOM.

    python benchmarks/colour_check.py [--frames 120] [--repeat 3]

Writes a 600 x 800 RGB multi-frame ultrasound file (a speckle fan, grey content: the check runs on every 8-bit
colour file, and most clinical echo DICOMs are stored in colour) to a temporary folder, then reads it with and
without the check, alternating in one process; prints the best of each and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _write(path: Path, n_frames: int) -> Path:
    from tests.readers_helpers import US_MULTIFRAME_SOP, base_dataset, set_rgb_pixels

    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:600, :800]
    fan = (np.hypot(rows, cols - 400) < 580) & (np.abs(np.degrees(np.arctan2(cols - 400, rows + 1))) < 40)
    grey = np.zeros((n_frames, 600, 800), np.uint8)
    for frame in grey:
        frame[fan] = rng.integers(0, 200, int(fan.sum()))
    ds = base_dataset(US_MULTIFRAME_SOP, "US")
    set_rgb_pixels(ds, np.repeat(grey[..., None], 3, axis=-1))
    ds.save_as(path, enforce_file_format=True)
    return path


def main() -> int:
    from app.data.readers import dicom_common, load_recording

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    check = dicom_common._off_grey_map
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "rgb.dcm", args.frames)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for on in (False, True):
                dicom_common._off_grey_map = check if on else (lambda *a: None)
                start = time.perf_counter()
                load_recording(path)
                times[on].append(time.perf_counter() - start)
    dicom_common._off_grey_map = check
    off, on = min(times[False]), min(times[True])
    print(f"{args.frames} x 600 x 800 RGB: read {off:.2f} s without the check, {on:.2f} s with it "
          f"(+{on - off:.2f} s, x {on / off:.3f}; best of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
