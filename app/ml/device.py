"""The one place the compute device is chosen. Everything else receives it."""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def choose_device() -> "torch.device":  # noqa: F821 - torch imported lazily
    """CUDA when present (unless CARDIOTRACE_DEVICE says otherwise), else the CPU."""
    import torch

    wanted = os.environ.get("CARDIOTRACE_DEVICE", "").strip().lower()
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_label() -> str:
    """Human-readable device for the status bar, e.g. 'CPU (2 threads)' or 'GPU: NVIDIA ...'."""
    import torch

    dev = choose_device()
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def set_threads(n_threads: int) -> None:
    """Limit torch's CPU threads (evaluations and benchmarks pin this to compare like with like)."""
    import torch

    if n_threads > 0:
        torch.set_num_threads(int(n_threads))
