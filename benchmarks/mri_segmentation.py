"""Short-axis MRI segmentation speed: a whole stack with 1, 4 and 8 test-time views.

Usage: .venv/bin/python benchmarks/mri_segmentation.py [--threads 2] [--slices 10] [--phases 25] [--random-weights]
Segments a phantom cine stack (app.data.phantom.make_mri, default 10 slices x 25 phases, 1.4 mm pixels)
with the shipped models/mri_seg network through app.ml.mri_inference.segment_stack, as the app does, once
per number of test-time views (flips / quarter turns averaged; TTA_VIEWS is what the app uses). Prints
seconds per stack, milliseconds per slice-phase and the ratio to one view, measured in the same run; then the
cost of the ConvLSTMs: the CNN alone of the same width (its weights random: speed does not depend on them)
against the shipped network, at the app's number of views.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_net(random_weights: bool):
    import torch

    from app.ml import mri_inference
    from app.ml.nets.mri_multilevel import build

    if random_weights:
        return build({"build": {"base_channels": 16, "temporal": "none"}}).eval()
    return mri_inference.load_mri_model(torch.device("cpu"))


def cnn_alone_like(net):
    """A CNN-alone network as wide as `net` (random weights), to time what the ConvLSTMs cost."""
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    return MultiLevelConvLSTMNet(int(net.stem[0].out_channels), "none").eval()


def time_stack(recording, net, views: int) -> float:
    """Seconds to segment the whole stack with `views` test-time views."""
    from app.ml import mri_inference

    saved = mri_inference.TTA_VIEWS
    mri_inference.TTA_VIEWS = views
    try:
        start = time.perf_counter()
        for _ in mri_inference.segment_stack(recording, net):
            pass
        return time.perf_counter() - start
    finally:
        mri_inference.TTA_VIEWS = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--phases", type=int, default=25)
    parser.add_argument("--random-weights", action="store_true", help="no trained model needed")
    args = parser.parse_args()

    import torch

    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml.mri_inference import TTA_VIEWS

    torch.set_num_threads(args.threads)
    recording = make_mri(MriPhantomParams(n_phases=args.phases, n_slices=args.slices), seed=7).recording
    net = load_net(args.random_weights)
    time_stack(recording, net, 1)  # warm-up
    n = args.slices * args.phases
    rows = [(views, time_stack(recording, net, views)) for views in (1, 4, 8)]
    base = rows[0][1]
    from app.ml.device import precision_label

    print(f"MRI stack {args.slices} slices x {args.phases} phases, {args.threads} threads (app uses {TTA_VIEWS} views), "
          f"{precision_label(torch.device('cpu'))}")
    print(f"{'views':>6} {'s/stack':>9} {'ms/image':>9} {'x 1 view':>9}")
    for views, seconds in rows:
        print(f"{views:>6} {seconds:>9.2f} {1000 * seconds / n:>9.1f} {seconds / base:>9.2f}")
    if net.temporal != "none":
        cnn = cnn_alone_like(net)
        time_stack(recording, cnn, 1)  # warm-up
        cnn_s, net_s = time_stack(recording, cnn, TTA_VIEWS), dict(rows).get(TTA_VIEWS) or time_stack(recording, net, TTA_VIEWS)
        print(f"\nat {TTA_VIEWS} views: CNN alone {cnn_s:.2f} s, shipped ({net.temporal} ConvLSTM) {net_s:.2f} s, "
              f"x {net_s / cnn_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
