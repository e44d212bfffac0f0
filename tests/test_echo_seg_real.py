"""Shipped echo segmentation weights on real CAMUS valid frames (skips without ../shared/data or weights)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from app.data.recording import Recording, uniform_frame_times  # noqa: E402
from app.ml import weights  # noqa: E402
from lab.evaluation.seg_metrics import dice  # noqa: E402


@pytest.mark.shared
@pytest.mark.parametrize("model", ["base", "temporal"])
def test_shipped_model_segments_camus_valid(shared_data, model):
    from app.ml.inference import clear_model_cache, run_to_result, segment_recording
    from lab.training.camus_data import case_paths, load_case

    name = f"echo_seg_{model}"
    if not weights.model_available(name, weights.MODELS_DIR):
        pytest.skip(f"models/{name} not trained in this checkout")
    clear_model_cache()
    scores = []
    for path in case_paths("valid", shared_data / "camus_a4c")[:3]:
        case = load_case(path)
        for phase in range(2):  # each annotated frame as a short still clip
            frames = np.repeat(case.images[phase][None], 3, axis=0)
            rec = Recording(frames=frames, spacing_mm=case.spacing_mm, frame_times_s=uniform_frame_times(3, 30.0),
                            modality="echo", view="a4c")
            result = run_to_result(segment_recording(rec, model))
            assert result.labels.shape == frames.shape
            scores.append(dice(result.labels[-1], case.labels[phase], 1))
    assert np.mean(scores) > 0.85, scores


@pytest.mark.shared
def test_shipped_unet_ef_and_dice_on_all_camus_valid_patients(shared_data):
    """The default echo network on the 50 CAMUS valid patients (never trained on), as the app runs it on an
    ED/ES pair: Dice per structure within 0.02 of the model card's figures (the README's), and the monoplane
    EF of our contours against the same method on the expert masks within the card's measured error.
    Measured 2026-11-26: Dice LV/myocardium/LA 0.9312/0.8535/0.9168 (card 0.9313/0.8538/0.9169), EF MAE 5.51
    (card 5.55), bias -0.53, worst patient 18.1 points; the weights shipped since 2026-11-28: EF MAE 5.55,
    bias -0.23, worst patient 19.5 (patient0255, which a six-seed soup read 20.1 and was not shipped for).
    Limits: MAE <= card + 0.5, |bias| <= 1.5 (issue 30's target), no patient off by more than 20 points (a gross
    failure)."""
    from app.analysis.contours import extract_contours
    from app.analysis.volumes import contour_disks
    from app.ml.inference import clear_model_cache, segment_recording
    from app.tasks import run_task
    from lab.training.camus_data import case_paths, load_case

    metrics = weights.read_card("echo_seg_base").provenance.metrics
    clear_model_cache()

    def volume_ml(labels, spacing_mm):
        disks = contour_disks(extract_contours(labels, "long-axis"), spacing_mm, with_chords=False)
        assert disks is not None
        return disks.volume_ml

    scores = {1: [], 2: [], 3: []}
    ef_errors = []
    for path in case_paths("valid", shared_data / "camus_a4c"):
        case = load_case(path)
        rec = Recording(frames=case.images.copy(), spacing_mm=case.spacing_mm,
                        frame_times_s=uniform_frame_times(2, 30.0), modality="echo", view="a4c")
        labels = run_task(segment_recording(rec, "base")).labels
        for k in scores:
            scores[k] += [dice(labels[p], case.labels[p], k) for p in (0, 1)]
        ours = [volume_ml(labels[p], case.spacing_mm) for p in (0, 1)]
        expert = [volume_ml(case.labels[p], case.spacing_mm) for p in (0, 1)]
        ef_errors.append(100 * (1 - ours[1] / ours[0]) - 100 * (1 - expert[1] / expert[0]))
    assert len(ef_errors) == 50
    for k, key in ((1, "camus_valid_dice_lv"), (2, "camus_valid_dice_myocardium"), (3, "camus_valid_dice_la")):
        assert np.mean(scores[k]) == pytest.approx(metrics[key], abs=0.02), (key, np.mean(scores[k]))
    errors = np.asarray(ef_errors)
    assert np.abs(errors).mean() <= metrics["camus_valid_ef_mae_pts"] + 0.5, np.abs(errors).mean()
    assert abs(errors.mean()) <= 1.5, errors.mean()
    assert np.abs(errors).max() <= 20.0, np.abs(errors).max()
