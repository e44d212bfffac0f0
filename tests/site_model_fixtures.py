"""A site model for the viewer and report tests (app/ml/site_model.py): the shipped echo U-Net's card with the
site's provenance, in a site folder of the test's own (tests/conftest.py's `site_dir`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "echo_seg_base"
SITE_METRICS = {"site_studies": 12, "site_patients": 9, "site_heldout_patients": 3,
                "site_check_dice_shipped": 0.861, "site_check_dice_site": 0.884}


def make_site_model(root: Path, weights: bytes | None = None, date: str = "2026-11-28") -> Path:
    """<root>/models/echo_seg_base: the shipped weights (or `weights`, a stand-in with its own sha256) under the
    shipped card, its provenance the site's (SITE_METRICS). Returns the folder."""
    folder = root / "models" / "echo_seg_base"
    folder.mkdir(parents=True)
    if weights is None:
        shutil.copyfile(SHIPPED / "model.pt", folder / "model.pt")
    else:
        (folder / "model.pt").write_bytes(weights)
    meta = json.loads((SHIPPED / "metadata.json").read_text())
    meta["provenance"].update(date=date, metrics=SITE_METRICS, data="this site's corrected studies (test)",
                              command="python -m app adapt echo-seg", notes=None,
                              sha256=hashlib.sha256((folder / "model.pt").read_bytes()).hexdigest())
    (folder / "metadata.json").write_text(json.dumps(meta, indent=1))
    return folder
