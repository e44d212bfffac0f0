"""Versions of the installed models for the report: one line per models/<name>/metadata.json, and one for the
site's own echo model where `app adapt` made one (app/ml/site_model.py): the report names every model that may
have drawn its contours."""

from __future__ import annotations

from pathlib import Path

from app.ml.model_card import ModelCard, ModelCardError, load_card
from app.report.model import ModelInfo


def _models_root(root: Path | None) -> Path:
    if root is not None:
        return Path(root)
    from app.ml.weights import models_dir  # torch-free module; honours CARDIOTRACE_MODELS_DIR

    return models_dir()


def installed_models(root: Path | None = None) -> tuple[ModelInfo, ...]:
    """ModelInfo(name, version, detail) for every readable metadata.json under the models folder.

    version: the first 12 hex digits of the weights' sha256 (the model card's provenance, app/ml/model_card.py).
    detail: what the model does and what it learned from, in plain words (app.report.plain_words).
    A site model (in the user's site folder, whatever `root`) follows the model it stands in for, named
    "<model> (site)" (site_entry).
    """
    site = {m.name: m for m in _site_models()}
    out = []
    for info in _shipped_models(_models_root(root)):
        out += [info] + ([site.pop(site_entry(info.name))] if site_entry(info.name) in site else [])
    return tuple(out) + tuple(site.values())  # a site model whose shipped model is not installed: at the end


def _shipped_models(folder: Path) -> tuple[ModelInfo, ...]:
    if not folder.is_dir():
        return ()
    out = []
    for meta_path in sorted(folder.glob("*/metadata.json")):
        try:
            card = load_card(meta_path)
        except ModelCardError:
            out.append(ModelInfo(meta_path.parent.name, "unreadable", "metadata.json is not a readable model card"))
            continue
        has_weights = any(meta_path.parent.glob("*.pt")) or any(meta_path.parent.glob("*.onnx"))
        out.append(ModelInfo(card.name, card.provenance.sha256[:12], _detail(card, has_weights, meta_path.parent.name)))
    return tuple(out)


def _detail(card: ModelCard, has_weights: bool, folder: str = "") -> str:
    """What the model does and what it learned from, in plain words (no metric names, nothing cut off)."""
    from app.report.plain_words import MODEL_WORDS

    if folder in MODEL_WORDS:
        does, data = MODEL_WORDS[folder]
        parts = [does, f"trained on {data}"]
    else:
        parts = [card.network.class_name]
    if not has_weights:
        parts.append("weights file missing")
    return "; ".join(parts)


def site_entry(name: str) -> str:
    """The report's and the About box's name of the site model standing in for models/<name>."""
    return f"{name} (site)"


def _site_models() -> tuple[ModelInfo, ...]:
    from app.ml.site_model import SITE_MODELS, site_model
    from app.report.plain_words import MODEL_SHORT, MODEL_WORDS

    out = []
    for name in SITE_MODELS:
        model = site_model(name)
        if model is None:
            continue
        detail = (f"{MODEL_WORDS[name][0]}; the shipped {MODEL_SHORT[name]} fine-tuned on {model.studies} studies "
                  f"({model.patients} patients) of this site's corrected frames, {model.date}; "
                  + ("in use" if model.in_use else "switched off: the shipped model is used"))
        out.append(ModelInfo(site_entry(name), model.sha256[:12], detail))
    return tuple(out)


def _site_headlines() -> dict[str, str]:
    """The check a site model passed: its Dice and the shipped model's on the site's held-out patients."""
    from app.ml.site_model import SITE_MODELS, site_model

    out = {}
    for name in SITE_MODELS:
        model = site_model(name)
        if model is not None and model.dice_site == model.dice_site and model.dice_shipped == model.dice_shipped:
            out[site_entry(name)] = (f"this site's {model.heldout_patients} held-out patients: mean Dice "
                                     f"{model.dice_site:.3f} (shipped model {model.dice_shipped:.3f})")
    return out


# models/<name>: (words, key of the model card's provenance.metrics, format) of the figures the About box shows
_HEADLINES = {
    "echo_seg_base": (("LV Dice", "camus_valid_dice_lv", "{:.3f}"),
                      ("EF mean abs. error", "camus_valid_ef_mae_pts", "{:.1f} points")),
    "echo_seg_temporal": (("LV Dice", "camus_valid_dice_lv", "{:.3f}"),
                          ("EF mean abs. error", "camus_valid_ef_mae_pts", "{:.1f} points")),
    "ed_es": (("ED frame error", "camus_valid_ed_afd", "{:.2f} frames"),
              ("ES frame error", "camus_valid_es_afd", "{:.2f} frames")),
    "motion": (("end-point error", "val_epe_px", "{:.2f} px"),),
    "mri_seg": (("LV Dice at ED", "acdc_cv_dice_lv_ed", "{:.3f}"),
                ("LV EF mean abs. error", "acdc_cv_lv_ef_mae_pts", "{:.1f} points"),
                ("RV EF mean abs. error", "acdc_cv_rv_ef_mae_pts", "{:.1f} points")),
    "view": (("view accuracy (CAMUS A4C)", "camus_valid_a4c_accuracy", "{:.0%}"),),
}


def headline_figures(root: Path | None = None) -> dict[str, str]:
    """models/<name> -> its validation headline in words ("LV Dice at ED 0.959; LV EF mean abs. error 3.4
    points"), from each model card's provenance metrics; models without a known or readable figure are left out.
    A site model's entry (site_entry) gives the check it passed on the site's held-out patients."""
    folder = _models_root(root)
    out = {}
    for name, figures in _HEADLINES.items():
        try:
            metrics = load_card(folder / name / "metadata.json").provenance.metrics
        except (OSError, ModelCardError):
            continue
        parts = [f"{words} {fmt.format(metrics[key])}" for words, key, fmt in figures
                 if isinstance(metrics.get(key), (int, float)) and metrics[key] == metrics[key]]
        if parts:
            out[name] = "; ".join(parts)
    return {**out, **_site_headlines()}
