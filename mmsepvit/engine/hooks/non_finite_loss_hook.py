# Copyright (c) mmsepvit contributors. All rights reserved.
import os.path as osp
from typing import Mapping, Optional

import torch
from mmengine.hooks import Hook

from mmsepvit.registry import HOOKS
from mmsepvit.utils import UserError, first_non_finite
from .seg_label_check_hook import _samples


class NonFiniteTrainingError(UserError, FloatingPointError):
    """A training loss or the weights about to be saved are NaN or
    infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first iteration whose loss is NaN or infinite,
    and refuses to save weights that are, so the last good checkpoint is
    the one ``--resume`` finds.

    Every iteration, each logged loss term (the values named ``*loss*``
    that the model's ``train_step`` returns, before any loss scaling) is
    checked: one ``isfinite`` over a handful of scalars. The error names the
    iteration, the term, the learning rate, the images of the batch (where
    the dataset names them) and the last checkpoint written. In a run of
    several processes the one that sees it stops, and ``torchrun`` stops the
    others.

    fp16 mixed precision with a loss scaler (mmengine's ``AmpOptimWrapper``)
    is not stopped when the scaler skips a step: the scaler skips steps whose
    *gradients* overflow the scaled fp16 range, and lowers the scale; the
    loss it scaled is finite, and that is the value checked here. A
    non-finite loss itself is a failure in every precision.

    Weights that turned non-finite without a non-finite loss (an infinite
    gradient, a finite loss) are caught before they are written: the save
    stops with the first such tensor named, and with mmsepvit's
    :class:`ResumableCheckpointHook` the checkpoints it would have deleted
    and ``last_checkpoint`` stay as they were.

    ``tools/train.py`` adds this hook to every config.
    """
    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Mapping] = None) -> None:
        losses = {
            name: value
            for name, value in (outputs or {}).items()
            if 'loss' in name and isinstance(value, torch.Tensor)
        }
        if not losses:
            return
        values = torch.stack([v.detach().float().reshape(()) for v in
                              losses.values()])
        if torch.isfinite(values).all():
            return
        bad = [f'{n} = {v.item()}' for n, v in losses.items()
               if not torch.isfinite(v).all()]
        rates = sorted({
            lr
            for group in runner.optim_wrapper.get_lr().values()
            for lr in group
        })
        images = [
            osp.basename(s.img_path) for s in _samples(
                (data_batch or {}).get('data_samples'))
            if 'img_path' in s
        ]
        raise NonFiniteTrainingError(
            f'The training loss is not finite at iteration {runner.iter + 1}'
            f' ({", ".join(bad)}), learning rate '
            f'{", ".join(f"{lr:.4g}" for lr in rates)}'
            + (f', images {", ".join(images)}' if images else '') +
            f'. Training stopped; {self._resume_hint(runner)}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        name = first_non_finite(checkpoint.get('state_dict', {}))
        if name is not None:
            raise NonFiniteTrainingError(
                f'The weights are not finite at iteration {runner.iter} '
                f'(first: {name}); not saving them. Training stopped; '
                f'{self._resume_hint(runner)}')

    @staticmethod
    def _resume_hint(runner) -> str:
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(last):
            return ('no checkpoint was written before: train again with a '
                    'lower learning rate.')
        with open(last) as f:
            checkpoint = f.read().strip()
        return (f'the last checkpoint, {checkpoint}, is intact: continue '
                f'from it with --resume and a lower learning rate (e.g. '
                f'--cfg-options optim_wrapper.optimizer.lr=...).')
