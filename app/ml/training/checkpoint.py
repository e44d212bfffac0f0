"""Resumable training state under /work/main/checkpoints/<run>/last.pt (gitignored)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHECKPOINTS_DIR = Path(__file__).resolve().parents[3] / "checkpoints"


def checkpoint_path(run: str, root: Path | None = None) -> Path:
    return Path(root or CHECKPOINTS_DIR) / run / "last.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomic torch.save of {'model', 'optimizer', 'step', ...}."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint yet."""
    import torch

    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
