# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmsepvit.registry import MODELS
from mmsepvit.utils import ConfigMismatchError, require_file
from .frozen_teacher import FrozenTeacherDistiller

# What is distilled, by the task model: the student's module whose output it
# is (hooked while the student computes its own losses).
DISTILLED_MODULES = dict(logits='decode_head.conv_seg', neck='neck')

# The data preprocessors' switches that reverse the channel order.
CHANNEL_FLIPS = ('bgr_to_rgb', 'rgb_to_bgr', 'to_rgb')

# The size of the blank image both models see once, when the distiller is
# built, to check that their outputs fit, unless the student's data
# preprocessor pads to a size of its own.
PROBE_SIZE = (256, 256)


@MODELS.register_module()
class TaskDistiller(FrozenTeacherDistiller):
    """Fine-tuning a task model (the student) with its own losses plus the
    distillation of a frozen task model already fine-tuned for the same
    task (the teacher) on the same augmented batch.

    What is distilled:

    - segmentors (mmseg, a ``decode_head``): the decode head's logits, by
      channel-wise distillation (:class:`ChannelWiseDivergence`, Shu et al.,
      ICCV 2021) or pixel-wise KL (:class:`PixelWiseDivergence`): the
      teacher's predictions are the task's targets, and the logits of two
      architectures are comparable where their features are not;
    - detectors (mmdet): the neck's maps, by Pearson-correlation imitation
      (:class:`PearsonFeatureDistance`, Cao et al., NeurIPS 2022), which
      ignores each channel's scale and offset and so suits a teacher of
      another architecture; a detector's outputs (boxes after NMS) have no
      fixed shape to compare.

    The student's modules are this model's own (``backbone``, ``neck``,
    ``decode_head``, ...): the Runner's checkpoints are plain checkpoints
    of the student's config, which ``tools/test.py`` evaluates without any
    teacher. The teacher is frozen, kept out of the module tree and the
    checkpoint (:class:`FrozenTeacherDistiller`), sees the student's padded
    batch in its own normalisation (its data preprocessor's mean and std;
    both must take the same channel order), and is loaded again on every
    ``init_weights``, ``--resume`` included. Validation and prediction are
    the student's.

    Args:
        student (dict): Config of the task model to train.
        teacher (dict | str): Config of the teacher task model, or the path
            of the config file it was trained with (its ``model``, built in
            its ``default_scope``).
        teacher_checkpoint (str): The teacher's weights, e.g. the Runner's
            checkpoint of its fine-tuning. Every weight of the teacher must
            be in it.
        distill_loss (dict): Config of the loss between the student's and
            the teacher's outputs (one call per output map, summed), logged
            as ``loss_distill``.
        distilled (str, optional): ``'logits'`` (the decode head's) or
            ``'neck'`` (every map of the neck). Defaults to None:
            ``'logits'`` for a model with a ``decode_head``, else
            ``'neck'``.
        teacher_prefix (str): The teacher's keys in the checkpoint are those
            under this prefix, without it. Defaults to ``''``.
        data_preprocessor (dict, optional): The student's data preprocessor
            where its config has none of its own. Defaults to None.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 student: dict,
                 teacher: Union[dict, str],
                 teacher_checkpoint: str,
                 distill_loss: dict,
                 distilled: Optional[str] = None,
                 teacher_prefix: str = '',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is not None:
            student = dict(student)
            student.setdefault('data_preprocessor', data_preprocessor)
        student_preprocessor = student.get('data_preprocessor') or {}
        student = MODELS.build(student)
        super().__init__(
            teacher_checkpoint=teacher_checkpoint,
            teacher_prefix=teacher_prefix,
            data_preprocessor=student.data_preprocessor,
            init_cfg=init_cfg)
        for name, module in student.named_children():
            if name != 'data_preprocessor':
                self.add_module(name, module)
        # The student's own object, for its loss and predict code; its
        # modules are registered above, so it stays out of the tree.
        object.__setattr__(self, 'student', student)
        if distilled is None:
            distilled = ('logits'
                         if hasattr(student, 'decode_head') else 'neck')
        if distilled not in DISTILLED_MODULES:
            raise ValueError(
                f'distilled must be one of {sorted(DISTILLED_MODULES)}, '
                f'got {distilled!r}.')
        try:
            student.get_submodule(DISTILLED_MODULES[distilled])
        except AttributeError:
            raise ConfigMismatchError(
                f'distilled={distilled!r} distils the output of the '
                f'student\'s {DISTILLED_MODULES[distilled]}, which '
                f'{type(student).__name__} does not have.') from None
        self.distilled = distilled
        self.distill_loss = MODELS.build(distill_loss)

        teacher, scope = self._teacher_config(teacher)
        self._check_channel_order(student_preprocessor,
                                  teacher.get('data_preprocessor') or {})
        with DefaultScope.overwrite_default_scope(scope):
            self.attach_teacher(teacher, *self._normalisation(teacher))
        self._check_outputs_fit()

    @staticmethod
    def _teacher_config(teacher: Union[dict, str]) -> Tuple[dict, str]:
        if isinstance(teacher, dict):
            return teacher, None
        require_file(teacher, 'teacher config')
        cfg = Config.fromfile(teacher)
        return cfg.model, cfg.get('default_scope')

    @staticmethod
    def _check_channel_order(student: dict, teacher: dict) -> None:
        """The teacher sees the student's batch: both preprocessors must
        read images in the same channel order."""
        flips = [any(p.get(key) for key in CHANNEL_FLIPS)
                 for p in (student, teacher)]
        if flips[0] != flips[1]:
            which = ['does', 'does not']
            raise ConfigMismatchError(
                f'The student\'s data preprocessor {which[not flips[0]]} '
                f'reverse the channel order ({"/".join(CHANNEL_FLIPS)}) and '
                f'the teacher\'s {which[not flips[1]]}: the teacher sees '
                f'the student\'s batch, so both must take the same order.')

    @staticmethod
    def _normalisation(teacher: dict) -> Tuple[Sequence, Sequence]:
        """The mean and std of the teacher's data preprocessor (None: the
        student's)."""
        preprocessor = teacher.get('data_preprocessor') or {}
        return preprocessor.get('mean'), preprocessor.get('std')

    def outputs(self, model, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The distilled outputs of a task model (the teacher, or the
        student outside training)."""
        features = model.extract_feat(inputs)
        if self.distilled == 'logits':
            return [model.decode_head(features)]
        return list(features)

    def _check_outputs_fit(self) -> None:
        size = getattr(self.data_preprocessor, 'size', None) or PROBE_SIZE
        image = torch.zeros(1, 3, *size)
        was_training = self.training
        self.student.eval()
        with torch.no_grad():
            student = [o.shape for o in self.outputs(self.student, image)]
            teacher = [o.shape for o in self.outputs(self.teacher, image)]
        self.train(was_training)
        if student != teacher:
            what = ('decode logits'
                    if self.distilled == 'logits' else 'neck maps')
            raise ConfigMismatchError(
                f'The teacher does not fit the student: at {size[0]}x'
                f'{size[1]} its {what} have shapes '
                f'{[list(s) for s in teacher]} and the student\'s '
                f'{[list(s) for s in student]} (classes and channels must '
                f'be the same).')

    def init_weights(self):
        """Initialise the student as its config says, load the teacher."""
        self.student.init_weights()
        self.load_teacher()

    def train(self, mode: bool = True):
        self.student.train(mode)
        return super().train(mode)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``'loss'``: the student's losses and ``loss_distill``; the other
        modes are the student's."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode)

    def loss(self, inputs: torch.Tensor,
             data_samples: List) -> Dict[str, torch.Tensor]:
        captured = []
        hooked = self.student.get_submodule(DISTILLED_MODULES[self.distilled])
        handle = hooked.register_forward_hook(
            lambda module, args, output: captured.append(output))
        try:
            losses = self.student.loss(inputs, data_samples)
        finally:
            handle.remove()
        outputs = captured[-1]
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        with torch.no_grad():
            targets = self.outputs(self.teacher, self.teacher_inputs(inputs))
        losses['loss_distill'] = sum(
            self.distill_loss(output, target)
            for output, target in zip(outputs, targets))
        return losses
