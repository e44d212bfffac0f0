"""The one place the compute device, and the precision inference runs in on it, are chosen. Everything else
receives them.

Choosing the device also sets up the process's memory allocator once (`tune_allocator`): glibc's malloc
serves blocks over 128 KB with mmap and gives freed memory back to the system at once until its adaptive
thresholds have grown, so a first analysis paid page faults on every network intermediate and label map of
every frame (measured: benchmarks/NOTES.md).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy imports stay lazy
    import torch

MALLOC_MMAP_THRESHOLD_BYTES = 32 * 2 ** 20  # glibc's own upper bound for its adaptive threshold
MALLOC_TRIM_THRESHOLD_BYTES = 64 * 2 ** 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def tune_allocator(over_environment: bool = False) -> bool:
    """glibc only: blocks up to MALLOC_MMAP_THRESHOLD_BYTES come from the heap, and up to
    MALLOC_TRIM_THRESHOLD_BYTES of freed heap is kept for the next frame. Not when the environment sets malloc
    tunables of its own, unless over_environment (a Dask worker, whose nanny sets MALLOC_TRIM_THRESHOLD_ to
    64 KB: app.workflow.batch.one_core_worker). Returns whether it was applied."""
    if not sys.platform.startswith("linux"):
        return False
    if not over_environment and ("GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ)):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # another C library (musl), or no mallopt
        return False


@lru_cache(maxsize=1)
def choose_device() -> torch.device:
    """CUDA when present (unless CARDIOTRACE_DEVICE says otherwise), else the CPU. Tunes the allocator first."""
    tune_allocator()
    import torch

    wanted = os.environ.get("CARDIOTRACE_DEVICE", "").strip().lower()
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


BF16_ENV = "CARDIOTRACE_BF16"  # "1" forces bf16 autocast on the CPU, "0" forbids it; unset: by the hardware
_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """The CPU computes bf16 natively (AVX512-BF16 or AMX tiles), as torch's own dispatch sees it."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def use_bf16(device) -> bool:
    """Whether inference on `device` runs in bf16 autocast: on the CPU, only where the CPU has native bf16.

    There it is faster than float32 (probabilities within 1e-3); without it torch emulates bf16 and the same
    networks run several times SLOWER than in float32 (benchmarks/NOTES.md).
    CUDA runs float32. CARDIOTRACE_BF16=1/0 overrides the choice on the CPU."""
    if getattr(device, "type", str(device)) != "cpu":
        return False
    wanted = os.environ.get(BF16_ENV, "").strip().lower()
    if wanted in _ON:
        return True
    if wanted in _OFF:
        return False
    return cpu_has_native_bf16()


def cpu_autocast(enabled: bool):
    """The bf16 autocast context for CPU inference or training when `enabled` (use_bf16's answer), else a no-op."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(enabled))


BACKEND_ENV = "CARDIOTRACE_BACKEND"  # "torch" or "onnxruntime"; unset: by the device (see inference_backend)


@lru_cache(maxsize=1)
def onnxruntime_available() -> bool:
    """onnxruntime (to run) and onnx (torch's exporter writes the graph with it) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def inference_backend(device, int8: bool = False) -> str:
    """'onnxruntime' or 'torch': what runs the echo networks' frames and the MRI members' images on `device`.

    ONNX Runtime on a CPU without native bf16 (the common laptop): there it runs the same float32 graph faster
    than torch with channels-last (benchmarks/NOTES.md). Torch on CUDA and on CPUs with native bf16 (bf16 autocast
    there), except for a network whose int8 graph runs (`int8`: the model has one made from its weights and
    use_int8 says yes): ONNX Runtime's int8 beats torch's bf16 there too, and every CPU then runs the same graph
    (benchmarks/NOTES.md). CARDIOTRACE_BACKEND=torch|onnxruntime overrides on the CPU."""
    if getattr(device, "type", str(device)) != "cpu":
        return "torch"
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted in ("torch", "onnxruntime"):
        return wanted if wanted == "torch" or onnxruntime_available() else "torch"
    return "onnxruntime" if onnxruntime_available() and (int8 or not use_bf16(device)) else "torch"


INT8_ENV = "CARDIOTRACE_INT8"  # "1" runs a model's int8 graph where it has one, "0" never; unset: the card's say


def use_int8(card_default: bool) -> bool:
    """Whether the ONNX Runtime path runs a model's int8 graph (app.ml.onnx_step.int8_graph) instead of its
    float32 one: where its card marks it the default (its accuracy was measured to hold against float32, the
    card's command says how); CARDIOTRACE_INT8=1/0 overrides."""
    wanted = os.environ.get(INT8_ENV, "").strip().lower()
    if wanted in _ON:
        return True
    if wanted in _OFF:
        return False
    return bool(card_default)


OVERLAP_ENV = "CARDIOTRACE_OVERLAP"  # "0" runs the echo network inline, between the frames' host work


def network_ahead(device, backend: str, threads: int) -> bool:
    """Whether a whole clip's echo network runs ahead of the frames' host work (label grids, contours) in a thread
    of its own (app/ahead.py), an ONNX Runtime session's threads sleeping instead of polling between operators.

    ONNX Runtime with 2 threads or more: its session releases the GIL, so on 2 cores the network and the host
    work run side by side (benchmarks/NOTES.md). On a GPU: the device computes while the CPU traces (torch releases
    the GIL in its calls). Torch's CPU threads are one pool per process, and that path has not been measured this
    way: it runs inline. CARDIOTRACE_OVERLAP=0 turns it off."""
    if os.environ.get(OVERLAP_ENV, "").strip().lower() in _OFF:
        return False
    if getattr(device, "type", str(device)) != "cpu":
        return True
    return backend == "onnxruntime" and threads >= 2


ECHO_BATCH_FRAMES_GPU = 32  # frames per call of a per-frame echo network on a GPU
ECHO_BATCH_FRAMES_CPU = 4  # on the CPU in torch: the knee of the per-frame cost (benchmarks/NOTES.md)


def network_batch(device, recurrent: bool) -> int:
    """Frames per call of a whole clip's echo network in torch (ONNX Runtime goes frame by frame: batches bought
    nothing there, benchmarks/NOTES.md). A per-frame network: ECHO_BATCH_FRAMES_GPU on a GPU (one transfer and one
    synchronisation per batch instead of per frame), ECHO_BATCH_FRAMES_CPU on the CPU (oneDNN's convolutions in
    bf16 or float32 cost less per frame in a batch); a recurrent network goes frame by frame."""
    if recurrent:
        return 1
    return ECHO_BATCH_FRAMES_GPU if getattr(device, "type", str(device)) != "cpu" else ECHO_BATCH_FRAMES_CPU


def engine_words(device, onnx_precision: str | None = None, bf16: bool = False) -> str:
    """How a network ran, in words for the results and the report: "<onnx_precision> on ONNX Runtime" when an ONNX
    Runtime session ran it, else torch's "bf16 on the CPU", "float32 on the CPU", "float32 on CUDA". The same
    weights give labels a little different by engine and precision, so a result says which ran."""
    if onnx_precision:
        return f"{onnx_precision} on ONNX Runtime"
    kind = getattr(device, "type", str(device))
    return f"{'bf16' if bf16 else 'float32'} on {'the CPU' if kind == 'cpu' else kind.upper()}"


def precision_label(device) -> str:
    """'bf16' or 'float32', with why on the CPU, for the benchmarks' headers."""
    if getattr(device, "type", str(device)) != "cpu":
        return "float32"
    why = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    forced = f", {BF16_ENV} set" if os.environ.get(BF16_ENV, "").strip() else ""
    return f"{'bf16' if use_bf16(device) else 'float32'} (CPU with {why}{forced})"


def set_threads(n_threads: int) -> None:
    """Limit the CPU threads of torch and of OpenCV (resizing, optical flow: its own pool, which
    OMP_NUM_THREADS does not limit) to `n_threads`: evaluations and benchmarks pin this to compare like with
    like, and a cohort worker to one core (app/workflow/batch.py)."""
    import cv2
    import torch

    if n_threads > 0:
        torch.set_num_threads(int(n_threads))
        cv2.setNumThreads(int(n_threads))
