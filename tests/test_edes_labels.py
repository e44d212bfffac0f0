"""TempReg-Net targets and loss: Kong et al.'s curve formula, cut beats, the structured loss sign."""

from __future__ import annotations

import numpy as np
import pytest

from lab.training.tempreg_cycle import discrete_events, phantom_timing_cycle, synthetic_cycle
from lab.training.tempreg_labels import target_curve


def test_curve_matches_kong_formula_inside_one_beat():
    ed, es, next_ed = 10, 25, 60
    y = target_curve(70, [ed, next_ed], [es])
    for k in range(ed, es + 1):  # systole: |(k - N_es) / (N_es - N_ed)| ** 3
        assert y[k] == pytest.approx(abs((k - es) / (es - ed)) ** 3, abs=1e-6)
    for k in range(es, next_ed + 1):  # diastole: ** (1/3)
        assert y[k] == pytest.approx(abs((k - es) / (next_ed - es)) ** (1 / 3), abs=1e-6)
    assert y[ed] == pytest.approx(1.0) and y[next_ed] == pytest.approx(1.0) and y[es] == 0.0


def test_curve_extrema_are_the_events_with_several_beats():
    ed, es = [5, 45, 85], [20, 60, 100]
    y = target_curve(110, ed, es)
    inner = [k for k in range(1, 109) if y[k] >= y[k - 1] and y[k] >= y[k + 1]]
    assert set(ed) <= set(inner)
    assert [k for k in range(1, 109) if y[k] <= y[k - 1] and y[k] <= y[k + 1]] == es


def test_cut_beats_at_both_ends_get_extrapolated_targets():
    # the clip starts in diastole (ES before frame 0) and ends in systole (after the last ED)
    y = target_curve(50, [10, 40], [22])
    assert np.all(np.diff(y[:11]) > 0), "frames before the first ED must rise towards it"
    assert np.all(np.diff(y[40:]) < 0), "frames after the last ED must fall (systole)"
    assert 0.0 < y[0] < 1.0 and 0.0 < y[-1] < 1.0


def test_events_must_alternate():
    with pytest.raises(ValueError, match="alternate"):
        target_curve(40, [5, 10], [30])


def test_structured_loss_penalises_the_wrong_direction_only():
    torch = pytest.importorskip("torch")
    from app.ml.nets.tempreg import structured_loss

    target = torch.tensor([[0.0, 0.5, 1.0, 0.5]])
    same = torch.tensor([[0.1, 0.4, 0.9, 0.2]])
    assert float(structured_loss(same, target)) == 0.0
    wrong = torch.tensor([[0.5, 0.3, 0.9, 0.95]])  # falls while the target rises, rises while it falls
    loss = float(structured_loss(wrong, target))
    assert loss == pytest.approx((0.2 + 0.05) / 3, abs=1e-6)


@pytest.mark.parametrize("make", [synthetic_cycle, phantom_timing_cycle])
def test_synthetic_cycles_alternate_and_match_the_volume(make):
    rng = np.random.default_rng(4)
    for _ in range(20):
        fpb = rng.uniform(10, 120)
        n = int(fpb * rng.uniform(1.2, 4.0))
        c = make(n, fpb, rng)
        events = sorted([(f, 1) for f in c.ed_frames] + [(f, 0) for f in c.es_frames])
        assert all(a[1] != b[1] for a, b in zip(events, events[1:], strict=False))
        v = np.pad(c.volume, 1, mode="edge")
        assert all(v[f + 1] >= max(v[f], v[f + 2]) and v[f + 1] > 0.7 for f in c.ed_frames)
        assert all(v[f + 1] <= min(v[f], v[f + 2]) and v[f + 1] < 0.3 for f in c.es_frames)


def test_discrete_events_ignore_events_outside_the_clip():
    volume = np.array([0.2, 0.6, 1.0, 0.5, 0.0, 0.3, 0.7])
    events = np.array([[-3.0, 0.0], [2.0, 1.0], [4.0, 0.0], [9.0, 1.0]])
    assert discrete_events(volume, events) == ((2,), (4,))
