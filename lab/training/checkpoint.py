"""Resumable training state under checkpoints/<run>/last.pt beside app/ (gitignored), or under the folder
CARDIOTRACE_CHECKPOINTS_DIR names: a folder outside the checkout keeps runs when the checkout is made anew."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CHECKPOINTS_DIR = Path(
    os.environ.get("CARDIOTRACE_CHECKPOINTS_DIR") or Path(__file__).resolve().parents[2] / "checkpoints"
)


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


def add_run_arguments(parser, run: str, checkpoint_minutes: float, threads: int) -> None:
    """The flags every resumable trainer shares: --checkpoint-minutes, --max-minutes, --run (checkpoint
    folder name), --checkpoint-root, --models-root, --threads, --seed; defaults per trainer."""
    parser.add_argument("--checkpoint-minutes", type=float, default=checkpoint_minutes)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--run", type=str, default=run)
    parser.add_argument("--checkpoint-root", type=Path, default=None)
    parser.add_argument("--models-root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=threads)
    parser.add_argument("--seed", type=int, default=0)


class TrainingClock:
    """Wall-clock bookkeeping of a resumable training loop: a checkpoint every `checkpoint_minutes`, a stop
    after `max_minutes` (None: no limit), both measured from construction."""

    def __init__(self, checkpoint_minutes: float, max_minutes: float | None = None) -> None:
        self.started = self.last_checkpoint = time.monotonic()
        self.checkpoint_minutes, self.max_minutes = checkpoint_minutes, max_minutes

    def minutes(self) -> float:
        return (time.monotonic() - self.started) / 60

    def mark_checkpoint(self) -> None:
        """Restart the checkpoint timer (e.g. once the data is loaded)."""
        self.last_checkpoint = time.monotonic()

    def checkpoint_due(self) -> bool:
        """True (and the timer restarts) when the last checkpoint is older than checkpoint_minutes."""
        now = time.monotonic()
        if now - self.last_checkpoint > 60 * self.checkpoint_minutes:
            self.mark_checkpoint()
            return True
        return False

    def out_of_time(self) -> bool:
        return self.max_minutes is not None and time.monotonic() - self.started > 60 * self.max_minutes
