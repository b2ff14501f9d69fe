# Copyright (c) mmsepvit contributors. All rights reserved.
"""Losses between a student's and a frozen teacher's outputs of the same
shape, each zero when the two agree."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsepvit.registry import MODELS


def _kl_divergence(student_logits: torch.Tensor,
                   teacher_logits: torch.Tensor, dim: int) -> torch.Tensor:
    """KL(teacher || student) of the softmaxes along ``dim``, not reduced
    along the other dimensions."""
    teacher_log_p = teacher_logits.log_softmax(dim)
    return (teacher_log_p.exp() *
            (teacher_log_p - student_logits.log_softmax(dim))).sum(dim)


class _SoftTargetDivergence(nn.Module):
    """A KL divergence of softmaxes at temperature ``tau``, multiplied by
    ``tau ** 2`` (so that the gradients' scale does not depend on ``tau``)
    and by ``loss_weight``."""

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        self.tau = tau
        self.loss_weight = loss_weight

    def _weighted(self, divergence: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * self.tau**2 * divergence.mean()


@MODELS.register_module()
class ChannelWiseDivergence(_SoftTargetDivergence):
    """Channel-wise distillation of dense predictions (Shu et al., ICCV
    2021, "Channel-wise Knowledge Distillation for Dense Prediction").

    Each channel of ``(N, C, H, W)`` logits is made a distribution over the
    ``H * W`` locations by a softmax at temperature ``tau``; the loss is the
    KL divergence of the student's from the teacher's, averaged over the
    ``N * C`` channels and multiplied by ``tau ** 2`` (so that the
    gradients' scale does not depend on ``tau``).

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        N, C = student.shape[:2]
        divergence = _kl_divergence(
            student.float().reshape(N, C, -1) / self.tau,
            teacher.float().reshape(N, C, -1) / self.tau,
            dim=-1)
        return self._weighted(divergence)


@MODELS.register_module()
class PixelWiseDivergence(_SoftTargetDivergence):
    """Pixel-wise distillation of dense predictions (Hinton et al.'s soft
    targets at every location): the KL divergence of the student's class
    distribution from the teacher's at temperature ``tau``, averaged over
    the ``N * H * W`` locations and multiplied by ``tau ** 2``.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        divergence = _kl_divergence(
            student.float() / self.tau, teacher.float() / self.tau, dim=1)
        return self._weighted(divergence)


@MODELS.register_module()
class PearsonFeatureDistance(nn.Module):
    """Feature imitation on Pearson correlation (Cao et al., NeurIPS 2022,
    "PKD: General Distillation Framework for Object Detectors via Pearson
    Correlation Coefficient").

    Each channel of ``(N, C, H, W)`` maps is standardised over the batch and
    the locations (zero mean, unit variance) in the student and the teacher;
    the loss is half the mean squared difference of the standardised maps,
    which is ``1 - r`` for the Pearson correlation ``r`` of each channel's
    values, averaged over the channels. The teacher's scale and offset, which
    differ between architectures and between FPN levels, do not count.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        eps (float): Added to the standard deviations. Defaults to 1e-6.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-6):
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def standardise(self, maps: torch.Tensor) -> torch.Tensor:
        values = maps.float().transpose(0, 1).reshape(maps.size(1), -1)
        mean = values.mean(1, keepdim=True)
        std = values.std(1, keepdim=True, unbiased=False)
        return (values - mean) / (std + self.eps)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * 0.5 * F.mse_loss(
            self.standardise(student), self.standardise(teacher))
