"""Precise batch-norm statistics: recompute a trained network's BatchNorm running mean/variance.

During training the running statistics are an exponential average (momentum 0.1) of the last few
batches. With one whole-cycle sample per step, drawn half from the phantom, they end up reflecting the
last ~10 draws, and the held-out score swings with them: leave-one-out on SC-HF-I-6 went from blood-pool
DSC 0.90 at step 1500 to 0.83 at step 2000 with the weights barely moving. Averaging the statistics over
every training sample once training is over ("precise BN", Wu & Johnson 2021) removes that noise:
0.83 -> 0.90 on the same weights.
"""

from __future__ import annotations

from typing import Iterable

import torch


def recalibrate_batchnorm(net: torch.nn.Module, inputs: Iterable[torch.Tensor]) -> int:
    """Reset every BatchNorm layer of `net` and set its running statistics to the plain average over the
    batches of `inputs` (forward passes in train mode, no gradients); returns the number of batches.
    The network is left in eval mode; its weights are untouched."""
    layers = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    net.train()
    count = 0
    with torch.no_grad():
        for x in inputs:
            net(x)
            count += 1
    for m, momentum in zip(layers, momenta, strict=False):
        m.momentum = momentum
    net.eval()
    return count
