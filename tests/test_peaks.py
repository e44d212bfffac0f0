"""app.analysis.peaks.find_peaks equals scipy.signal.find_peaks (distance, prominence) on random curves."""

import numpy as np
import pytest
from scipy.signal import find_peaks as scipy_find_peaks

from app.analysis.peaks import find_peaks


def _curves(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(0, 120))
        kind = rng.integers(0, 3)
        if kind == 0:  # coarse levels: many plateaus and equal heights (ties in the distance rule)
            yield rng.integers(0, 4, n).astype(float)
        elif kind == 1:  # a smooth cardiac-like curve with noise
            t = np.arange(n)
            yield np.cos(2 * np.pi * t / rng.uniform(8, 40)) + 0.2 * rng.standard_normal(n)
        else:
            yield rng.standard_normal(n)


@pytest.mark.parametrize("distance", [None, 1, 2.5, 7])
@pytest.mark.parametrize("prominence", [None, 0.0, 0.3, 1.0])
def test_same_peaks_and_prominences_as_scipy(distance, prominence):
    for x in _curves(seed=int(10 * (distance or 0) + 100 * (prominence or 0)), count=150):
        ours, props = find_peaks(x, distance=distance, prominence=prominence)
        theirs, their_props = scipy_find_peaks(x, distance=distance, prominence=prominence)
        assert ours.dtype == theirs.dtype and ours.tolist() == theirs.tolist(), x.tolist()
        assert sorted(props) == sorted(their_props)
        for key in props:
            np.testing.assert_array_equal(props[key], their_props[key])


def test_bad_arguments_are_refused_like_scipy():
    with pytest.raises(ValueError):
        find_peaks(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        find_peaks(np.zeros(5), distance=0.5)


def test_importing_it_does_not_import_scipy_signal():
    import subprocess
    import sys

    code = "import sys, app.analysis.peaks, app.analysis.edes_fusion; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
