"""Offline variants of the echo segmentation that the product does not run, kept to compare against it.

`segment_offline` is app.ml.inference.segment_recording with the lab's options:
- wma_window: the causal weighted moving average of the class probabilities (the per-frame network's
  flicker baseline of the temporal-segmentation paper; app.ml.inference.EchoSegmenter);
- centred_window (odd, per-frame network only): each frame's probabilities averaged with its neighbours'
  (binomial weights, e.g. 3 -> 1/4, 1/2, 1/4), a zero-lag smoothing without the lag of the causal average;
- bidirectional_average (recurrent network): the clip run forwards and backwards and the two passes'
  probabilities averaged, so every frame sees its past and its future;
- bidirectional_check (recurrent network): the clip also run backwards, each frame's confidence multiplied by
  the LV Dice of the two passes.
Frames are stored as the product stores them (app.ml.frame_store.FrameStore).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from app.ml.frame_flags import lv_dice
from app.ml.frame_store import EchoSegmentation
from app.ml.inference import start_segmentation
from app.ml.temporal_smoothing import centred_average
from app.tasks import Cancel, Progress, is_cancelled


def segment_offline(recording, model: str = "temporal", *, cancel: Cancel = None, slice_index: int = 0,
                    keep_probabilities: bool = False, wma_window: int = 0, bidirectional_check: bool = False,
                    centred_window: int = 0, bidirectional_average: bool = False, hysteresis_margin: float = 0.0,
                    device=None) -> Iterator[Progress | EchoSegmentation]:
    """Segment every frame with the options above; yields Progress and finally one EchoSegmentation (a task of
    app.tasks, like the product's)."""
    seg, small, store = start_segmentation(recording, model, slice_index, keep_probabilities, hysteresis_margin,
                                           device, wma_window)
    n = len(small)
    two_way = bidirectional_average and seg.temporal
    check = bidirectional_check and seg.temporal and not two_way
    smooth = centred_window > 1 and not seg.temporal
    total = n * (2 if two_way or check else 1)
    held = np.zeros((n, 4, seg.size, seg.size), np.float32) if smooth or two_way else None
    seg.reset()
    for t in range(n):
        if is_cancelled(cancel):
            return
        net_probs = seg.step_net(small[t])
        if held is not None:
            held[t] = net_probs
        else:
            store.store(t, net_probs)
        yield Progress((t + 1) / total, "segmenting")
    if smooth:
        assert held is not None
        for t, net_probs in enumerate(centred_average(held, centred_window)):
            store.store(t, net_probs)
    if two_way or check:
        seg.reset()
        for i, t in enumerate(range(n - 1, -1, -1)):
            if is_cancelled(cancel):
                return
            back = seg.step_net(small[t])
            if two_way:
                assert held is not None
                store.store(t, 0.5 * (held[t] + back))
            else:
                store.confidence[t] *= lv_dice(store.labels[t], store.to_recording_grid(back).argmax(0))
            yield Progress((n + i + 1) / total, "second pass, backwards" if two_way else "checking backwards")
    yield store.result(model, seg.inference)
