"""Echo segmentation speed: streaming latency per frame (median, p90) and whole-recording throughput.

Usage: .venv/bin/python benchmarks/segmentation.py [--threads 2] [--frames 60] [--random-weights]
       [--models base,temporal,echo_seg_temporal_fast] [--models-root DIR]
Measures the shipped models on CPU with `--threads` threads: torch float32 with and without channels-last,
bf16 autocast only on a CPU with native bf16 (about 2x faster there; emulated it is several times slower,
`--emulated-bf16` to time it anyway), and ONNX Runtime (float32, the engine the app takes on CPUs without
native bf16, app/ml/device.inference_backend; and the model's int8 graph where its card has one); 'x torch' is
each row's speed-up over torch float32 + channels-last measured in the same run; 'rec fps' is the
whole-recording throughput (torch: chunks of 16 frames; ONNX Runtime: frame by frame, as the app runs it). Peak
memory is the process's peak resident set size (ru_maxrss) after each row. Prints a table; then a second one:
labelling one frame's probabilities on the recording's grid (`--grid`, default 600x800) by numpy's argmax, by the
class-plane argmax segment_recording uses, and with the label hysteresis of app/ml/hysteresis.py (analyze
--hysteresis, the viewer's steady contours), with their ratios to numpy's argmax.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(model: str, random_weights: bool, models_root: Path | None = None):
    """(net, network class, input size) of models/echo_seg_<model> (or models/<model> for a full name), or random
    weights (the default channels of `train echo-seg --arch model`)."""
    import torch

    from app.ml.nets.registry import ARCHITECTURES, build as build_network
    from app.ml.weights import load_model, read_card

    name = model if model.startswith("echo_seg_") else f"echo_seg_{model}"
    if random_weights:
        network_class = ARCHITECTURES.get(model, "ConvLSTMUNet")
        return build_network(network_class, {}).eval(), network_class, 128
    card = read_card(name, models_root)
    net = load_model(name, torch.device("cpu"), root=models_root)
    return net, card.network.class_name, int(card.preprocessing.input_size_px)


def stream(net, temporal: bool, frames, bf16: bool, channels_last: bool) -> np.ndarray:
    """Per-frame latencies (s) of stateful one-frame steps (preprocessed frames (T, 2, S, S))."""
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    state, times = None, []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for x in frames:
            x = x[None].contiguous(memory_format=fmt)
            start = time.perf_counter()
            if temporal:
                logits, state = net.step(x, state)
            else:
                logits = net(x)
            torch.softmax(logits.float(), 1)
            times.append(time.perf_counter() - start)
    return np.array(times)


def onnx_stream(net, size: int, frames, threads: int, graph: bytes | None = None) -> np.ndarray:
    """Per-frame latencies (s) of the same stateful steps in ONNX Runtime (app/ml/onnx_step.py), softmax included;
    `graph`: the model's int8 graph instead of the float32 export."""
    from app.ml.onnx_step import OnnxFrameNet

    session = OnnxFrameNet(net, size, threads, graph=graph)
    x_all = frames.numpy()
    session.step(x_all[:1])  # warm-up
    state, times = None, []
    for x in x_all:
        start = time.perf_counter()
        _, state = session.step(x[None], state)
        times.append(time.perf_counter() - start)
    return np.array(times)


def throughput(net, temporal: bool, frames, bf16: bool, chunk: int = 16) -> float:
    """Frames per second processing the whole recording in chunks (temporal: state carried)."""
    import torch

    start = time.perf_counter()
    state = None
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(frames), chunk):
            x = frames[i : i + chunk]
            if temporal:
                logits, state = net(x[None], state)
            else:
                logits = net(x)
            torch.softmax(logits.float(), -3)
    return len(frames) / (time.perf_counter() - start)


def labelling_ms(grid_hw: tuple[int, int], repeats: int = 30) -> dict[str, float]:
    """Median ms per frame to label (4, H, W) float32 probabilities: numpy's argmax(axis=0), the class-plane
    argmax that segment_recording uses, and label hysteresis (margin 0.2)."""
    from app.ml.hysteresis import class_argmax, sticky_argmax

    rng = np.random.default_rng(0)
    probs = rng.random((4, *grid_hw), dtype=np.float32)
    probs /= probs.sum(0, keepdims=True)
    previous = rng.integers(0, 4, grid_hw).astype(np.uint8)
    ways = {"numpy argmax": lambda: probs.argmax(0).astype(np.uint8), "class argmax": lambda: class_argmax(probs),
            "hysteresis": lambda: sticky_argmax(probs, previous, 0.2)}
    timings = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            timings[name].append(time.perf_counter() - start)
    return {name: float(np.median(t) * 1000) for name, t in timings.items()}


def model_rows(model: str, args) -> list[tuple]:
    """One row per engine for one model; 'x torch' is the median latency's ratio to torch float32 channels-last."""
    import torch

    from app.ml.device import cpu_has_native_bf16, onnxruntime_available
    from app.ml.nets.registry import is_recurrent

    net, network_class, size = build(model, args.random_weights, args.models_root)
    temporal = is_recurrent(network_class)  # the ConvLSTM U-Net and the recurrent aggregation network stream by step()
    frames = torch.rand(args.frames, 1, size, size)
    frames = torch.cat([frames, torch.zeros_like(frames)], 1)
    head = (model, f"{sum(p.numel() for p in net.parameters()) / 1e6:.2f}M", size)
    dtypes = (False, True) if cpu_has_native_bf16() or args.emulated_bf16 else (False,)
    rows, baseline = [], None
    for bf16, cl in ((b, c) for b in dtypes for c in (True, False)):
        stream(net, temporal, frames[:5], bf16, cl)  # warm-up
        lat = stream(net, temporal, frames, bf16, cl) * 1000
        baseline = baseline or float(np.median(lat))
        fps = throughput(net.to(memory_format=torch.contiguous_format), temporal, frames, bf16)
        rows.append((*head, "bf16" if bf16 else "fp32", "torch+CL" if cl else "torch", np.median(lat),
                     np.percentile(lat, 90), baseline / np.median(lat), fps, peak_rss_mb()))
    if onnxruntime_available():
        for precision, graph in (("fp32", None), ("int8", int8(model, args))):
            if precision == "int8" and graph is None:
                continue
            lat = onnx_stream(net.to(memory_format=torch.contiguous_format), size, frames, args.threads, graph) * 1000
            rows.append((*head, precision, "onnxruntime", np.median(lat), np.percentile(lat, 90),
                         baseline / np.median(lat), 1000 / np.mean(lat), peak_rss_mb()))
    return rows


def int8_note(args) -> str:
    """Which echo models the ONNX Runtime path runs as their int8 graph (app/ml/device.use_int8)."""
    from app.ml.device import use_int8
    from app.ml.weights import read_card

    chosen = [m for m in ("base", "temporal") if not args.random_weights
              and (card := read_card(f"echo_seg_{m}", args.models_root)).int8 is not None
              and use_int8(card.int8.default) and int8(m, args) is not None]
    return f"int8 graph for {', '.join(chosen)}" if chosen else "no int8 graph"


def int8(model: str, args) -> bytes | None:
    """The model's int8 graph (lab.training.quantize_echo), where its card has one for these weights."""
    if args.random_weights:
        return None
    from app.ml.onnx_step import int8_graph
    from app.ml.weights import model_dir, read_card

    name = model if model.startswith("echo_seg_") else f"echo_seg_{model}"
    return int8_graph(read_card(name, args.models_root), model_dir(name, args.models_root))


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--random-weights", action="store_true", help="benchmark untrained nets (no models/ needed)")
    p.add_argument("--models", default="base,temporal",
                   help="comma-separated: base, temporal or a models folder name such as echo_seg_temporal_fast")
    p.add_argument("--models-root", type=Path, default=None, help="folder holding the models (default models/)")
    p.add_argument("--grid", default="600x800", help="recording grid HxW for the labelling table")
    p.add_argument("--emulated-bf16", action="store_true",
                   help="also time bf16 on a CPU without native bf16 (emulated: several times slower than fp32)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from app.ml.device import inference_backend, onnxruntime_available, precision_label

    print(f"torch {torch.__version__}, {args.threads} threads, {args.frames} frames"
          + (" (random weights)" if args.random_weights else ""), flush=True)
    backend = inference_backend(torch.device("cpu"))
    print(f"the app runs inference here in {precision_label(torch.device('cpu'))} (app/ml/device.use_bf16) "
          f"with {backend} (app/ml/device.inference_backend)"
          + (f"; {int8_note(args)} (ONNX Runtime on any CPU)" if onnxruntime_available() else ""), flush=True)
    header = ("model", "params", "input", "dtype", "engine", "stream ms med", "p90", "x torch", "rec fps", "peak MB")
    models = args.models.split(",")
    name_width = max(14, *(len(m) + 2 for m in models))  # a models folder name can be long
    print(f"{header[0]:>{name_width}}" + "".join(f"{h:>14}" for h in header[1:]), flush=True)
    for model in models:
        for row in model_rows(model, args):
            print(f"{row[0]:>{name_width}}" + "".join(f"{v:>14}" if isinstance(v, (str, int)) else f"{v:>14.2f}"
                                                      for v in row[1:]), flush=True)
    grid_hw = tuple(int(v) for v in args.grid.lower().split("x"))
    times = labelling_ms(grid_hw)
    base = times["numpy argmax"]
    print(f"\nlabelling one {grid_hw[0]}x{grid_hw[1]} frame: "
          + ", ".join(f"{name} {ms:.1f} ms ({ms / base:.2f}x)" for name, ms in times.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
