"""app.analysis.peaks.find_peaks gives the indices scipy.signal.find_peaks gives for the arguments the ED/ES
steps use (distance, prominence), on random curves with plateaus, ties and edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks as scipy_find_peaks

from app.analysis.peaks import find_peaks


def _curves(n: int, seed: int):
    rng = np.random.default_rng(seed)
    for i in range(n):
        length = int(rng.integers(1, 160))
        if i % 3 == 0:  # coarse levels: plateaus and equal heights everywhere
            yield rng.integers(0, 5, length).astype(float)
        elif i % 3 == 1:  # a cardiac-like curve with noise
            t = np.arange(length)
            yield np.sin(2 * np.pi * t / rng.uniform(8, 40)) + rng.normal(0, rng.uniform(0, 0.4), length)
        else:
            yield np.round(rng.normal(0, 1, length).cumsum(), 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_peaks_as_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    for y in _curves(400, seed):
        span = float(np.ptp(y)) if y.size else 0.0
        for distance in (None, 1, 2.5, float(rng.integers(1, 30))):
            for prominence in (None, 0.0, 0.2 * span, rng.uniform(0, span + 1e-9)):
                theirs, _ = scipy_find_peaks(y, distance=distance, prominence=prominence)
                assert np.array_equal(find_peaks(y, distance, prominence), theirs), (y, distance, prominence)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        find_peaks(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        find_peaks(np.arange(5.0), distance=0.5)
