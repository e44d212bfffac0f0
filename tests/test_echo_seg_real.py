"""Shipped echo segmentation weights on real CAMUS valid frames (skips without ../shared/data or weights)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from app.analysis.seg_metrics import dice  # noqa: E402
from app.data.recording import Recording, uniform_frame_times  # noqa: E402
from app.ml import weights  # noqa: E402


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
