# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModel

from mmsepvit.registry import MODELS
from mmsepvit.utils import load_checkpoint_into


class FrozenTeacherDistiller(BaseModel):
    """The part every distiller shares: a frozen, pretrained teacher that
    sees the student's inputs in its own normalisation.

    The teacher is built from its config (:meth:`attach_teacher`, with the
    mean and std its inputs are normalised with), its weights loaded by
    :meth:`init_weights` from ``teacher_checkpoint`` (safely, as every
    checkpoint in mmsepvit; every weight of the teacher required), and it is
    kept out of the module tree: it is no parameter of the optimizer, no key
    of the state dict (the Runner's checkpoints hold what the student trains
    only), and no module for DDP to wrap, so ``model.train()`` leaves it in
    eval mode. It follows the model across devices and dtypes; subclasses
    run it under ``torch.no_grad``.

    Args:
        teacher_checkpoint (str): The teacher's weights. A missing, damaged
            or unsafe file is refused.
        teacher_prefix (str): The teacher's keys in the checkpoint are those
            under this prefix, without it. Defaults to ``''``: all keys.
        data_preprocessor (dict | nn.Module, optional): The student's data
            preprocessor; it must normalise (have ``mean`` and ``std``).
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 teacher_checkpoint: str,
                 teacher_prefix: str = '',
                 data_preprocessor=None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.teacher_checkpoint = teacher_checkpoint
        self.teacher_prefix = teacher_prefix

    def attach_teacher(self,
                       teacher: dict,
                       teacher_mean: Optional[Sequence[float]] = None,
                       teacher_std: Optional[Sequence[float]] = None) -> None:
        """Build the teacher, frozen, outside the module tree.

        Called by subclasses once the student is built, so that the student
        draws the same initial weights from a seed as before the teacher.
        """
        teacher = MODELS.build(teacher)
        teacher.requires_grad_(False)
        teacher.eval()  # (some backbones' train() returns None)
        # Outside the module tree (see the class docstring): nn.Module's
        # __setattr__ would register it.
        object.__setattr__(self, 'teacher', teacher)

        mean, std = self.data_preprocessor.mean, self.data_preprocessor.std
        teacher_mean = mean if teacher_mean is None else torch.as_tensor(
            teacher_mean, dtype=mean.dtype).view_as(mean)
        teacher_std = std if teacher_std is None else torch.as_tensor(
            teacher_std, dtype=std.dtype).view_as(std)
        # Student input x = (pixels - mean) / std; the teacher's is
        # (pixels - teacher_mean) / teacher_std = x * scale + shift.
        self.register_buffer(
            'teacher_scale', std / teacher_std, persistent=False)
        self.register_buffer(
            'teacher_shift', (mean - teacher_mean) / teacher_std,
            persistent=False)

    def load_teacher(self) -> None:
        load_checkpoint_into(
            self.teacher,
            self.teacher_checkpoint,
            prefix=self.teacher_prefix,
            allow_unused=True,
            what='teacher checkpoint')

    def init_weights(self):
        """Initialise what the student trains, load the teacher."""
        super().init_weights()
        self.load_teacher()

    def _apply(self, fn, *args, **kwargs):
        # Listed in mmsepvit.utils.compat: no public hook sees device moves.
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def teacher_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's (normalised) inputs in the teacher's
        normalisation."""
        return inputs * self.teacher_scale + self.teacher_shift
