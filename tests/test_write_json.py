"""app.paths.write_json, the one JSON writer of the commands and evaluations: folder made, atomic, readable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.paths import write_json


def test_writes_into_a_new_folder_and_encodes_paths_and_numpy(tmp_path):
    target = tmp_path / "new" / "sub" / "r.json"
    write_json(target, {"ef_pct": np.float32(55.5), "n": np.int64(3), "source": Path("/a/b.avi")}, indent=2)
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith("{\n  ")
    assert json.loads(text) == {"ef_pct": "55.5", "n": "3", "source": "/a/b.avi"}


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_part(tmp_path, monkeypatch):
    """A write cut short (a full disk) after half the text leaves the previous file whole and no part file."""
    target = tmp_path / "r.json"
    write_json(target, {"run": 1})
    real_write = Path.write_text

    def full_disk(self, text, *args, **kwargs):
        real_write(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError):
        write_json(target, {"run": 2, "rows": list(range(100))})
    monkeypatch.undo()
    assert json.loads(target.read_text(encoding="utf-8")) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
