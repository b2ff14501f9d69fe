# Copyright (c) mmsepvit contributors. All rights reserved.
"""The task-distillation losses against their papers' formulas written out
element by element: zero where the student's outputs equal the teacher's,
positive otherwise, and what the formula gives."""
import math

import pytest
import torch

from mmsepvit.models import (ChannelWiseDivergence, PearsonFeatureDistance,
                             PixelWiseDivergence)


def channel_wise_reference(student, teacher, tau):
    """Shu et al., eq. 4: per channel, a distribution over locations;
    tau^2 / C times the summed KL divergences, per image, then the batch
    mean."""
    N, C, H, W = student.shape
    total = 0.
    for n in range(N):
        for c in range(C):
            t = [v / tau for v in teacher[n, c].flatten().tolist()]
            s = [v / tau for v in student[n, c].flatten().tolist()]
            t_norm = math.log(sum(math.exp(v) for v in t))
            s_norm = math.log(sum(math.exp(v) for v in s))
            total += sum(
                math.exp(tv - t_norm) * ((tv - t_norm) - (sv - s_norm))
                for tv, sv in zip(t, s))
    return tau**2 * total / (N * C)


def pixel_wise_reference(student, teacher, tau):
    N, C, H, W = student.shape
    total = 0.
    for n in range(N):
        for y in range(H):
            for x in range(W):
                t = [v / tau for v in teacher[n, :, y, x].tolist()]
                s = [v / tau for v in student[n, :, y, x].tolist()]
                t_norm = math.log(sum(math.exp(v) for v in t))
                s_norm = math.log(sum(math.exp(v) for v in s))
                total += sum(
                    math.exp(tv - t_norm) * ((tv - t_norm) - (sv - s_norm))
                    for tv, sv in zip(t, s))
    return tau**2 * total / (N * H * W)


def pearson_reference(student, teacher):
    """1 - r per channel (r: Pearson's correlation of the channel's values
    over the batch and locations), averaged over the channels."""
    C = student.shape[1]
    distances = []
    for c in range(C):
        s = student[:, c].flatten().double()
        t = teacher[:, c].flatten().double()
        s, t = s - s.mean(), t - t.mean()
        r = (s * t).sum() / (s.norm() * t.norm())
        distances.append(1 - r.item())
    return sum(distances) / C


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_divergences_are_their_formulas(tau):
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 5), 3 * torch.randn(2, 3, 4, 5)
    for loss, reference in ((ChannelWiseDivergence, channel_wise_reference),
                            (PixelWiseDivergence, pixel_wise_reference)):
        value = loss(tau=tau, loss_weight=2.0)(student, teacher)
        assert value.item() == pytest.approx(
            2.0 * reference(student, teacher, tau), rel=1e-5)


def test_pearson_distance_is_one_minus_the_correlation():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    value = PearsonFeatureDistance(loss_weight=2.0)(student, teacher)
    assert value.item() == pytest.approx(
        2.0 * pearson_reference(student, teacher), rel=1e-4)
    # Each channel's scale and offset do not count.
    scaled = teacher * torch.tensor([5., 0.1, 2.]).view(1, 3, 1, 1) + 7
    assert PearsonFeatureDistance()(student, scaled).item() == pytest.approx(
        pearson_reference(student, teacher), rel=1e-4)


@pytest.mark.parametrize('loss', [
    ChannelWiseDivergence(tau=2.0),
    PixelWiseDivergence(tau=2.0),
    PearsonFeatureDistance()
])
def test_zero_for_equal_outputs_and_positive_otherwise(loss):
    torch.manual_seed(0)
    teacher = torch.randn(2, 8, 6, 6, requires_grad=False)
    same = teacher.clone().requires_grad_()
    assert loss(same, teacher).item() == pytest.approx(0, abs=1e-6)
    other = (teacher + 0.5 * torch.randn_like(teacher)).requires_grad_()
    value = loss(other, teacher)
    assert value.item() > 1e-3
    value.backward()  # and it trains the student
    assert other.grad.abs().sum() > 0


def test_low_precision_outputs_are_compared_in_float32():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    for loss in (ChannelWiseDivergence(), PixelWiseDivergence(),
                 PearsonFeatureDistance()):
        value = loss(student.bfloat16(), teacher.bfloat16())
        assert value.dtype == torch.float32
        torch.testing.assert_close(
            value,
            loss(student.bfloat16().float(), teacher.bfloat16().float()))
