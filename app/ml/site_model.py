"""The site's own echo U-Net: the shipped one fine-tuned on this site's corrected studies (`app adapt echo-seg`).

It lives in the user's data folder, beside the shipped weights and never over them:

    <site root>/models/echo_seg_base/model.pt, metadata.json   the usual model card (app/ml/model_card.py); its
                                                               provenance.metrics hold the check it passed
    <site root>/site.json                                      {"use": {"echo_seg_base": true}}: the user's switch

Site root: $CARDIOTRACE_SITE_DIR, else $XDG_DATA_HOME/cardiotrace/site, else ~/.local/share/cardiotrace/site.
Only a model that beat the shipped one on the site's held-out patients is written here (app/ml/site_adapt.py), so
a model present is one that may be used; the user can switch back to the shipped model (and on again) at any time.
Torch-free: the viewer and the report read this without loading a network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.ml.model_card import ModelCardError, load_card

SITE_MODELS = ("echo_seg_base",)  # the shipped models a site model can stand in for
SETTINGS_FILE = "site.json"


def site_root() -> Path:
    env = os.environ.get("CARDIOTRACE_SITE_DIR", "").strip()
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cardiotrace" / "site"


def site_models_dir() -> Path:
    return site_root() / "models"


@dataclass(frozen=True)
class SiteModel:
    """A site model on disk and what its card says of it."""

    name: str  # the shipped model it stands in for, e.g. "echo_seg_base"
    folder: Path
    sha256: str
    date: str
    studies: int
    patients: int
    heldout_patients: int
    dice_shipped: float  # mean Dice (LV, myocardium, LA) of the shipped model on the held-out patients' frames
    dice_site: float
    in_use: bool

    @property
    def label(self) -> str:
        """How the viewer, the report and the SR name it."""
        return f"site model of {self.date} ({self.studies} studies, {self.sha256[:8]})"


def site_model(name: str = "echo_seg_base") -> SiteModel | None:
    """The site model standing in for `name`, or None (none adapted, or its card unreadable)."""
    folder = site_models_dir() / name
    try:
        card = load_card(folder / "metadata.json")
    except (OSError, ModelCardError):
        return None
    if not (folder / "model.pt").is_file():
        return None
    m = card.provenance.metrics
    return SiteModel(name, folder, card.provenance.sha256, card.provenance.date, int(m.get("site_studies", 0)),
                     int(m.get("site_patients", 0)), int(m.get("site_heldout_patients", 0)),
                     float(m.get("site_check_dice_shipped", float("nan"))),
                     float(m.get("site_check_dice_site", float("nan"))), _use_setting(name))


def _settings() -> dict:
    try:
        data = json.loads((site_root() / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _use_setting(name: str) -> bool:
    use = _settings().get("use", {})
    return bool(use.get(name, True)) if isinstance(use, dict) else True  # adapted = offered, until switched off


def set_in_use(name: str, on: bool) -> None:
    """The user's switch between the site model and the shipped one (kept across sessions)."""
    from app.paths import atomic_target

    data = _settings()
    use = data.get("use")
    data["use"] = {**(use if isinstance(use, dict) else {}), name: bool(on)}
    with atomic_target(site_root() / SETTINGS_FILE) as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")


def active_site_model(name: str = "echo_seg_base") -> SiteModel | None:
    """The site model to run instead of `name`: present and switched on; None means the shipped model."""
    model = site_model(name)
    return model if model is not None and model.in_use else None
