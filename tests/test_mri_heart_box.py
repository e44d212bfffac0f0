"""The heart's box (app/ml/mri_heart_box.py): one member finds the heart, the ensemble segments only around it."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.mri_heart_box import MARGIN_PX, WHOLE_FRACTION, locate, located_phases, predict_in_box
from app.ml.mri_preprocess import PAD_MULTIPLE

PADDED = (256, 320)  # a padded grid (multiples of 8); the image itself is 250 x 313


def _member_seeing(rows: slice, cols: slice):
    """A 'first member' calling LV pool inside rows x cols of every phase, background elsewhere."""

    def member(x: np.ndarray) -> np.ndarray:
        probs = np.zeros((x.shape[0], 4, *x.shape[-2:]), np.float32)
        probs[:, 0] = 1.0
        probs[:, 0, rows, cols], probs[:, 1, rows, cols] = 0.0, 1.0
        return probs

    return member


def test_the_box_is_the_heart_with_its_margin_in_whole_network_strides():
    inputs = [np.zeros((2, 1, *PADDED), np.float32) for _ in range(3)]
    box = locate(_member_seeing(slice(100, 140), slice(150, 190)), inputs, (250, 313))
    assert box is not None
    rows, cols = box
    assert rows.start <= 100 - MARGIN_PX + PAD_MULTIPLE and rows.stop >= 140 + MARGIN_PX
    assert cols.start <= 150 - MARGIN_PX + PAD_MULTIPLE and cols.stop >= 190 + MARGIN_PX
    assert (rows.stop - rows.start) % PAD_MULTIPLE == 0 and (cols.stop - cols.start) % PAD_MULTIPLE == 0
    assert rows.stop <= PADDED[0] and cols.stop <= PADDED[1]


def test_a_heart_at_the_edge_keeps_its_box_inside_the_grid():
    box = locate(_member_seeing(slice(0, 30), slice(290, 313)), [np.zeros((1, 1, *PADDED), np.float32)], (250, 313))
    assert box is not None and box[0].start == 0 and 313 <= box[1].stop <= PADDED[1]
    assert (box[1].stop - box[1].start) % PAD_MULTIPLE == 0


@pytest.mark.parametrize("rows, cols, why", [
    (slice(0, 0), slice(0, 0), "no heart found"),
    (slice(10, 240), slice(10, 300), "the box would cover most of the slice"),
])
def test_whole_slices_when_the_box_would_not_help(rows, cols, why):
    assert locate(_member_seeing(rows, cols), [np.zeros((1, 1, *PADDED), np.float32)], (250, 313)) is None, why
    assert WHOLE_FRACTION < 1.0


def test_the_ensemble_sees_only_the_box_and_the_rest_is_background():
    seen = []

    def ensemble(x):
        seen.append(x.shape)
        return np.full((x.shape[0], 4, *x.shape[-2:]), 0.25, np.float32)

    stacked = np.random.default_rng(0).random((5, 1, *PADDED)).astype(np.float32)
    box = (slice(64, 160), slice(96, 224))
    probs = predict_in_box(ensemble, stacked, box)
    assert seen == [(5, 1, 96, 128)]
    assert probs.shape == (5, 4, *PADDED)
    assert np.all(probs[:, :, 64:160, 96:224] == 0.25)
    outside = np.ones(PADDED, bool)
    outside[64:160, 96:224] = False
    assert np.all(probs[:, 0][:, outside] == 1.0) and np.all(probs[:, 1:][:, :, outside] == 0.0)
    assert predict_in_box(ensemble, stacked, None).shape == (5, 4, *PADDED) and seen[-1] == stacked.shape


def test_the_located_phases_are_the_first_and_the_middle():
    assert located_phases(1) == [0] and located_phases(2) == [0, 1] and located_phases(25) == [0, 12]


def test_the_shipped_model_in_the_box_draws_what_it_draws_on_whole_slices(monkeypatch):
    """The shipped ensemble on the MRI phantom's cine stack: segmented in the heart's box, the labels are those of
    the whole slices (the network was trained on crops around the heart)."""
    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml import mri_inference
    from app.ml.weights import WeightsError

    try:
        net = mri_inference.load_mri_model()
    except WeightsError as exc:
        pytest.skip(f"no shipped MRI model: {exc}")
    rec = make_mri(MriPhantomParams(n_phases=10, n_slices=5, image_px=200, pixel_mm=1.5), seed=3).recording
    found = []
    real_locate = mri_inference.locate
    monkeypatch.setattr(mri_inference, "locate", lambda *args: found.append(real_locate(*args)) or found[-1])
    boxed = list(mri_inference.segment_stack(rec, net=net))[-1]
    assert found and found[0] is not None  # the heart was found and the box is a part of the slice
    monkeypatch.setattr(mri_inference, "locate", lambda *args: None)
    whole = list(mri_inference.segment_stack(rec, net=net))[-1]
    for label in (1, 2, 3):
        a, b = boxed.labels == label, whole.labels == label
        assert 2 * (a & b).sum() / max(a.sum() + b.sum(), 1) > 0.97, label
