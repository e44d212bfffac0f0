"""`evaluate mri-seg` scoring: nested threshold tuning never sees the held-out patient; volumes and EF."""

from __future__ import annotations

import numpy as np

from lab.evaluation.mri_crop_loo import HeldOut, nested_decision, score_held_out
from lab.training.mri_decision import ARGMAX


def phase(r_pool: float, rim_p: tuple[float, float, float], size: int = 96):
    """Target and probabilities of one phase: pool r_pool, 6 px wall; the outer 3 px of the pool get rim_p."""
    rr, cc = np.ogrid[:size, :size]
    r = np.hypot(rr - size / 2, cc - size / 2)
    target = np.where(r < r_pool, 1, np.where(r < r_pool + 6, 2, 0)).astype(np.uint8)
    probs = np.zeros((3, size, size), np.float32)
    probs[:] = np.array([0.9, 0.0, 0.1], np.float32)[:, None, None]
    probs[:, r < r_pool + 6] = np.array([0.1, 0.0, 0.9], np.float32)[:, None]
    probs[:, r < r_pool] = np.array([0.02, 0.9, 0.08], np.float32)[:, None]
    probs[:, (r >= r_pool - 3) & (r < r_pool)] = np.array(rim_p, np.float32)[:, None]
    return target, probs


def held_out(name: str, rim_p) -> HeldOut:
    (t_ed, p_ed), (t_es, p_es) = phase(24, rim_p), phase(16, rim_p)
    return HeldOut(name, (np.stack([p_ed, p_es]),), (np.stack([t_ed, t_es]),), (np.array([True, False]),), 8.0)


def test_nested_thresholds_come_from_the_other_patients_only():
    shy = (0.1, 0.35, 0.55)  # the pool rim leans to myocardium: needs a pool threshold below 0.35
    held = {"A": held_out("A", shy), "B": held_out("B", shy), "C": held_out("C", (0.1, 0.8, 0.1))}
    assert nested_decision(held, "C").pool_probability < 0.35
    assert nested_decision({"C": held["C"]}, "C") == ARGMAX


def test_score_held_out_volumes_and_ejection_fraction():
    held = held_out("A", (0.1, 0.35, 0.55))
    plain = score_held_out(held, "none", ARGMAX)
    tuned = score_held_out(held, "none", nested_decision({"A": held, "B": held_out("B", (0.1, 0.35, 0.55))}, "A"))
    assert tuned.dice_pool > 0.99 > plain.dice_pool
    edv, esv = tuned.edv_ml[0], tuned.esv_ml[0]  # expert: pi r^2 x 8 mm slice
    assert abs(edv - np.pi * 24**2 * 8 / 1000) < 0.05 * edv and abs(esv - np.pi * 16**2 * 8 / 1000) < 0.05 * esv
    assert abs(tuned.ef_pct[1] - tuned.ef_pct[0]) < 1.0
    assert plain.apd_endo_mm > tuned.apd_endo_mm
    ring_ml = np.pi * ((30**2 - 24**2) + (22**2 - 16**2)) * 8 / 1000  # 6 px walls of both phases, 8 mm slices
    assert abs(tuned.mass_g[0] - 1.05 * ring_ml) < 0.05 * tuned.mass_g[0]
    assert abs(tuned.mass_g[1] - tuned.mass_g[0]) < 0.1 * tuned.mass_g[0]


def test_update_model_writes_the_lab_record_not_the_shipped_folder(tmp_path, monkeypatch):
    """`evaluate mri-seg-crop-loo --update-model` once rewrote models/mri_seg/metadata.json; now its table and
    thresholds go to the lab record (lab/notes/mri_seg.json beside the models folder) and the card stays."""
    import json
    import shutil
    from pathlib import Path

    from lab.evaluation.mri_crop_loo import _update_model
    from lab.model_notes import read_metadata
    from lab.training.mri_decision import Decision

    shipped = Path(__file__).resolve().parents[1] / "models" / "mri_seg" / "metadata.json"
    models = tmp_path / "models"
    (models / "mri_seg").mkdir(parents=True)
    shutil.copy(shipped, models / "mri_seg" / "metadata.json")
    (tmp_path / "lab" / "notes").mkdir(parents=True)
    (tmp_path / "lab" / "notes" / "mri_seg.json").write_text(json.dumps({"build": {"temporal": "multi"}}))
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(models))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"rows": [{"approach": "multi", "case": "SC-HF-I-4", "dice_myo": 0.8}]}))
    _update_model(summary, {"multi": Decision(0.4, 0.5)})
    record = read_metadata("mri_seg", models)
    assert record["decision"]["pool_probability"] == 0.4 and record["leave_one_out"]["rows"][0]["dice_myo"] == 0.8
    assert (models / "mri_seg" / "metadata.json").read_text() == shipped.read_text()
