"""Where the app finds its bundled files, from a source checkout or a PyInstaller bundle; atomic writes."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path


def install_root() -> Path:
    """The folder holding `models/` and `resources/`: the checkout, or the bundle's data folder."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    """Trained weights (`models/<name>/`); CARDIOTRACE_MODELS_DIR overrides it (tests)."""
    override = os.environ.get("CARDIOTRACE_MODELS_DIR", "").strip()
    return Path(override) if override else install_root() / "models"


def resources_dir() -> Path:
    return install_root() / "resources"


def demo_dir() -> Path:
    return resources_dir() / "demo"


@contextmanager
def atomic_target(path: str | os.PathLike):
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed. A symbolic link
    keeps pointing where it did (its target is replaced); a device or pipe (/dev/null, /dev/full, a FIFO) is
    written into, never replaced by a file (a full device's error then reaches the user)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file():
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """`text` and a final newline in `path`, atomically (atomic_target: its folder made, a failed write leaves no
    part file): a command's --json file."""
    with atomic_target(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def write_json(path: str | os.PathLike, data, indent: int = 1) -> None:
    """`data` as JSON in `path` (write_text); values json cannot encode (paths, numpy scalars) as their str."""
    write_text(path, json.dumps(data, indent=indent, default=str))
