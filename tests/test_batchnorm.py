"""Precise batch-norm statistics replace the running averages of the last training batches."""

from __future__ import annotations

import torch

from lab.training.batchnorm import recalibrate_batchnorm


def test_running_stats_become_the_average_over_all_inputs():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1, bias=False), torch.nn.BatchNorm2d(1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    bn = net[1]
    bn.running_mean.fill_(-7.0)  # as if the last training batches were unusual
    inputs = [torch.full((2, 1, 4, 4), float(v)) + 0.1 * torch.randn(2, 1, 4, 4) for v in (1.0, 3.0, 5.0, 7.0)]
    weight_before = net[0].weight.clone()
    assert recalibrate_batchnorm(net, inputs) == 4
    assert abs(float(bn.running_mean[0]) - 4.0) < 0.05  # mean of the batch means, not the last batch (7)
    assert bn.momentum == 0.1 and not net.training
    assert torch.equal(net[0].weight, weight_before)
