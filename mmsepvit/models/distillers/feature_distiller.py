# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsepvit.registry import MODELS
from .frozen_teacher import FrozenTeacherDistiller

# The size of the blank image both networks see once, when the distiller is
# built, to learn their maps' channels, unless the student has its own.
PROBE_SIZE = (224, 224)


def whiten(features: torch.Tensor) -> torch.Tensor:
    """Each location's feature vector of ``(B, C, H, W)`` normalised over the
    channels, without learned parameters."""
    return F.layer_norm(features.permute(0, 2, 3, 1),
                        features.shape[1:2]).permute(0, 3, 1, 2)


@MODELS.register_module()
class FeatureDistiller(FrozenTeacherDistiller):
    """Feature distillation of a frozen, pretrained teacher into a backbone,
    on images without labels.

    Each map of the student backbone (its ``out_indices``) learns the
    teacher map of the same rank (the teacher's ``out_indices``), as
    FitNets' hints (Romero et al., 2015) at several scales: a 1x1
    convolution projects the student map to the teacher's channels, bilinear
    resizing to the teacher's size where the two differ, and a smooth L1
    loss against the teacher map normalised over its channels at every
    location (the whitening of Wei et al., 2022, "Contrastive Learning Rivals
    Masked Image Modeling in Fine-tuning via Feature Distillation": the
    target's scale is then the same in every stage and for every teacher).
    One loss per map, ``loss_stage{i}``, each of weight ``loss_weight``.

    The teacher is frozen and kept out of the module tree and the
    checkpoint (:class:`FrozenTeacherDistiller`): the Runner's checkpoints
    hold the student ``backbone.*`` and the ``projections.*`` only.

    The checkpoint initialises the backbone of any config with the same
    backbone settings: ``init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='backbone.')``.

    Args:
        backbone (dict): Config of the student, the backbone to train; its
            outputs are the maps that learn.
        teacher (dict): Config of the teacher, any backbone a config can
            build (``mmpretrain.TIMMBackbone`` with ``features_only=True``
            for a timm model, ``mmpretrain.ResNet``, ...); it must give as
            many maps as the student.
        teacher_checkpoint (str): The teacher's weights, loaded by
            :meth:`init_weights`. Every weight of the teacher must be in it
            (a classifier head the backbone does not build may be too); a
            missing, damaged or unsafe file is refused.
        teacher_prefix (str): The teacher's keys in the checkpoint are those
            under this prefix, without it (``'backbone.'`` for a classifier
            checkpoint of mmpretrain). Defaults to ``''``: all keys.
        teacher_mean (Sequence[float], optional): The mean the teacher's
            inputs are normalised with, in the data preprocessor's channel
            order. Defaults to None: the preprocessor's.
        teacher_std (Sequence[float], optional): Likewise the std.
            Defaults to None: the preprocessor's.
        loss_weight (float): Weight of each map's loss. Defaults to 1.0.
        beta (float): Threshold of the smooth L1 loss between its L2 and L1
            parts, on whitened targets. Defaults to 1.0.
        data_preprocessor (dict, optional): Config of the data preprocessor;
            it must normalise (have ``mean`` and ``std``). Defaults to None.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 teacher: dict,
                 teacher_checkpoint: str,
                 teacher_prefix: str = '',
                 teacher_mean: Optional[Sequence[float]] = None,
                 teacher_std: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 beta: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            teacher_checkpoint=teacher_checkpoint,
            teacher_prefix=teacher_prefix,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.attach_teacher(teacher, teacher_mean, teacher_std)
        self.loss_weight = loss_weight
        self.beta = beta

        student_channels, teacher_channels = self._probe_channels()
        self.projections = nn.ModuleList(
            nn.Conv2d(s, t, 1)
            for s, t in zip(student_channels, teacher_channels))

    def _probe_channels(self):
        """Channels of the student's and the teacher's maps."""
        was_training = self.backbone.training
        size = getattr(self.backbone, 'img_size', PROBE_SIZE)
        image = torch.zeros(1, 3, *size)
        with torch.no_grad():
            self.backbone.eval()
            student_maps = self.backbone(image)
            teacher_maps = self.teacher(image)
        self.backbone.train(was_training)
        if len(student_maps) != len(teacher_maps):
            raise ValueError(
                f'The student gives {len(student_maps)} maps and the '
                f'teacher {len(teacher_maps)}: each student map learns the '
                f'teacher map of the same rank, so give both the same number '
                f'of out_indices.')
        return ([m.size(1) for m in student_maps],
                [m.size(1) for m in teacher_maps])

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``'loss'``: the distillation losses; ``'tensor'``: the student's
        maps projected to the teacher's channels."""
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'tensor':
            return self.project(self.backbone(inputs))
        raise RuntimeError(
            f'FeatureDistiller has no {mode!r} mode (only "loss" and '
            f'"tensor"): it trains a backbone and predicts nothing; test '
            f'the backbone in a task config that loads its checkpoint.')

    def project(self, student_maps: Sequence[torch.Tensor]
                ) -> List[torch.Tensor]:
        return [proj(m) for proj, m in zip(self.projections, student_maps)]

    def teacher_maps(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The teacher's whitened maps of the (student-normalised) inputs."""
        with torch.no_grad():
            maps = self.teacher(self.teacher_inputs(inputs))
            return [whiten(m.float()) for m in maps]

    def loss(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        targets = self.teacher_maps(inputs)
        losses = {}
        for i, (prediction, target) in enumerate(
                zip(self.project(self.backbone(inputs)), targets)):
            if prediction.shape[2:] != target.shape[2:]:
                prediction = F.interpolate(
                    prediction,
                    size=target.shape[2:],
                    mode='bilinear',
                    align_corners=False)
            losses[f'loss_stage{i}'] = self.loss_weight * F.smooth_l1_loss(
                prediction.float(), target, beta=self.beta)
        return losses
