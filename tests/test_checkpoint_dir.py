"""Training checkpoints can live outside the checkout (CARDIOTRACE_CHECKPOINTS_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checkpoints_dir(env: dict[str, str]) -> str:
    code = "from lab.training.checkpoint import CHECKPOINTS_DIR; print(CHECKPOINTS_DIR)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_checkpoints_default_beside_app_and_follow_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CARDIOTRACE_CHECKPOINTS_DIR"}
    assert Path(_checkpoints_dir(env)) == ROOT / "checkpoints"
    assert Path(_checkpoints_dir({**env, "CARDIOTRACE_CHECKPOINTS_DIR": str(tmp_path)})) == tmp_path
