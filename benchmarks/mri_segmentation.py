"""Short-axis MRI segmentation speed: the shipped model on a whole stack, against the previous network.

Usage: .venv/bin/python benchmarks/mri_segmentation.py [--threads 2] [--slices 10] [--phases 25] [--random-weights]
       [--memory]
Segments a phantom cine stack (app.data.phantom.make_mri, default 10 slices x 25 phases, 1.4 mm pixels) through
app.ml.mri_inference.segment_stack, as the app does:
- the shipped models/mri_seg (the four-class whole-slice ensemble of ACDC folds, app/ml/mri_inference.py) with
  1, 4 and 8 test-time views (its metadata's input.tta_views is what the app uses), segmenting the heart's box
  as the app does (app/ml/mri_heart_box.py), and at the app's views on whole slices, as before the box; a model
  with cyclic ConvLSTMs also with them off (its CNNs alone: what the temporal part costs);
- the previous network, measured in the same run as the baseline: the three-class multi-level ConvLSTM of
  16 channels on a 128 px crop around the located LV, at its 8 views (random weights: speed does not depend on
  them).
Prints seconds per stack, milliseconds per slice-phase and the ratio to the baseline; then the app's views in
the heart's box under each inference path this CPU has, in the same run (app/ml/device.py chooses one: torch
bf16 where the CPU computes bf16 natively, ONNX Runtime float32 elsewhere, app/ml/onnx_mri.py), with each
path's ratio to torch float32; with --memory, each path's peak memory in a fresh process (an ONNX Runtime arena
that kept the largest run once made the float32 path peak at 2.7 GB).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PREVIOUS_VIEWS = 8


def shipped_net(random_weights: bool):
    import torch

    from app.ml import mri_inference
    from app.ml.nets.registry import build

    if random_weights:
        member = {"base_channels": 16, "temporal": "none", "n_classes": 4, "context_blocks": 2}
        return build("MriEnsemble", {"members": 5, "member": member}).eval()
    return mri_inference.load_mri_model(torch.device("cpu"))


def has_convlstms(net) -> bool:
    from app.ml.nets.mri_ensemble import members_of

    return any(m.temporal != "none" for m in members_of(net))


@contextlib.contextmanager
def convlstms_off(net):
    """The members' cyclic ConvLSTMs skipped (each member its CNN alone), for the ConvLSTMs' share of the time."""
    from app.ml.nets.mri_ensemble import members_of

    saved = [m.min_cycle_phases for m in members_of(net)]
    for m in members_of(net):
        m.min_cycle_phases = 10 ** 6
    try:
        yield
    finally:
        for m, value in zip(members_of(net), saved, strict=False):
            m.min_cycle_phases = value


def previous_net():
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    return MultiLevelConvLSTMNet(16, "multi").eval()


def time_stack(recording, net, views: int, whole_slice: bool, heart_box: bool = True) -> float:
    """Seconds to segment the whole stack with `views` test-time views (the four-class model: in the heart's box
    as the app does, or on whole slices when `heart_box` is False)."""
    from app.ml import mri_inference
    from lab.training.mri_crop_inference import segment_stack

    saved, locate = mri_inference.TTA_VIEWS, mri_inference.locate
    mri_inference.TTA_VIEWS = views  # the crop model's views
    if not heart_box:
        mri_inference.locate = lambda *args: None
    try:
        start = time.perf_counter()
        for _ in segment_stack(recording, net, whole_slice=whole_slice, tta_views=views):
            pass
        return time.perf_counter() - start
    finally:
        mri_inference.TTA_VIEWS, mri_inference.locate = saved, locate


@contextlib.contextmanager
def inference_path(backend: str, bf16: bool):
    """The app's inference forced to `backend` ("torch" or "onnxruntime") and bf16 on or off
    (CARDIOTRACE_BACKEND / CARDIOTRACE_BF16, read at each call by app/ml/device.py)."""
    import os

    from app.ml.device import BACKEND_ENV, BF16_ENV

    saved = {name: os.environ.get(name) for name in (BACKEND_ENV, BF16_ENV)}
    os.environ[BACKEND_ENV], os.environ[BF16_ENV] = backend, "1" if bf16 else "0"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def inference_paths() -> list[tuple[str, str, bool]]:
    """(name, backend, bf16) of every inference path this CPU has (torch float32 first: the ratios' baseline)."""
    from app.ml.device import cpu_has_native_bf16, onnxruntime_available

    paths = [("torch float32", "torch", False)]
    if onnxruntime_available():
        paths.append(("ONNX Runtime float32", "onnxruntime", False))
    if cpu_has_native_bf16():
        paths.append(("torch bf16", "torch", True))
    return paths


def path_rows(recording, net, views: int) -> list[tuple[str, float]]:
    """(path, seconds per stack) of the app's views in the heart's box under every inference path here."""
    rows = []
    for name, backend, bf16 in inference_paths():
        with inference_path(backend, bf16):
            time_stack(recording, net, 1, True)  # warm-up (and the ONNX export, or its cache)
            rows.append((name, time_stack(recording, net, views, True)))
    return rows


def peak_memory_rows(args) -> list[tuple[str, float, float]]:
    """(path, peak resident MB, seconds) of one segmentation of the stack per inference path, each in a fresh
    process (the peak of a process only grows: paths measured in one process would hide each other)."""
    import subprocess

    rows = []
    for name, backend, bf16 in inference_paths():
        cmd = [sys.executable, __file__, "--one-path", backend, "1" if bf16 else "0", "--threads", str(args.threads),
               "--slices", str(args.slices), "--phases", str(args.phases)]
        out = subprocess.run(cmd + (["--random-weights"] if args.random_weights else []), capture_output=True,
                             text=True, check=True).stdout.split()
        rows.append((name, float(out[-2]), float(out[-1])))
    return rows


def one_path(args) -> int:
    """--one-path BACKEND BF16: this process segments the stack once on that path; prints 'peak_MB seconds'."""
    import torch

    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml.mri_inference import DEFAULT_TTA_VIEWS, shipped_tta_views

    torch.set_num_threads(args.threads)
    backend, bf16 = args.one_path
    recording = make_mri(MriPhantomParams(n_phases=args.phases, n_slices=args.slices), seed=7).recording
    net = shipped_net(args.random_weights)
    with inference_path(backend, bf16 == "1"):
        seconds = time_stack(recording, net, shipped_tta_views() or DEFAULT_TTA_VIEWS, True)
    print(f"{peak_resident_mb():.0f} {seconds:.2f}")
    return 0


def peak_resident_mb() -> float:
    """This process's peak resident memory: VmHWM of its own address space (Linux). Not getrusage's ru_maxrss,
    which a child started by fork + exec inherits from its parent's size at the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: the best there is


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--phases", type=int, default=25)
    parser.add_argument("--random-weights", action="store_true", help="no trained model needed")
    parser.add_argument("--memory", action="store_true",
                        help="also the peak memory of one stack per inference path, each in a fresh process")
    parser.add_argument("--one-path", nargs=2, metavar=("BACKEND", "BF16"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_path:
        return one_path(args)

    import torch

    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml.device import precision_label
    from app.ml.mri_inference import DEFAULT_TTA_VIEWS, shipped_tta_views

    torch.set_num_threads(args.threads)
    recording = make_mri(MriPhantomParams(n_phases=args.phases, n_slices=args.slices), seed=7).recording
    net, old = shipped_net(args.random_weights), previous_net()
    app_views = shipped_tta_views() or DEFAULT_TTA_VIEWS
    time_stack(recording, net, 1, True)  # warm-up
    n = args.slices * args.phases
    baseline = time_stack(recording, old, PREVIOUS_VIEWS, False)
    rows = [(f"{views}", True, time_stack(recording, net, views, True)) for views in (1, 4, 8)]
    rows.append((f"{app_views}", False, time_stack(recording, net, app_views, True, heart_box=False)))
    if has_convlstms(net):
        with convlstms_off(net):
            rows.append((f"{app_views}", "cnn", time_stack(recording, net, app_views, True)))
    print(f"MRI stack {args.slices} slices x {args.phases} phases, {args.threads} threads, "
          f"{precision_label(torch.device('cpu'))}; the app uses {app_views} views")
    print(f"{'network':50} {'views':>6} {'s/stack':>9} {'ms/image':>9} {'x previous':>11}")
    print(f"{'previous: 3-class ConvLSTM, 128 px crop':50} {PREVIOUS_VIEWS:>6} {baseline:>9.2f} "
          f"{1000 * baseline / n:>9.1f} {1.0:>11.2f}")
    for views, boxed, seconds in rows:
        where = {True: "heart's box", False: "whole slices (before)", "cnn": "box, ConvLSTMs off"}[boxed]
        print(f"{'shipped: 4-class ensemble, ' + where:50} {views:>6} {seconds:>9.2f} "
              f"{1000 * seconds / n:>9.1f} {seconds / baseline:>11.2f}")
    paths = path_rows(recording, net, app_views)
    print(f"\nthe app's {app_views} views in the heart's box, by inference path (same run)")
    print(f"{'path':50} {'s/stack':>9} {'ms/image':>9} {'x torch float32':>16}")
    for name, seconds in paths:
        print(f"{name:50} {seconds:>9.2f} {1000 * seconds / n:>9.1f} {paths[0][1] / seconds:>16.2f}")
    if args.memory:
        memory = peak_memory_rows(args)
        print("\npeak memory of one stack segmentation (shipped model loaded, first run), a fresh process per path")
        print(f"{'path':50} {'peak MB':>9} {'s/stack':>9} {'x torch float32 MB':>19}")
        for name, peak_mb, seconds in memory:
            print(f"{name:50} {peak_mb:>9.0f} {seconds:>9.2f} {peak_mb / memory[0][1]:>19.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
