# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Iterator, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsepvit.registry import HOOKS
from mmsepvit.utils.errors import UserError


class InvalidLabelError(UserError, ValueError):
    """A segmentation label is neither a class index nor ignored."""


def _samples(data_samples) -> Iterator:
    """Data samples of a batch, also the nested lists of test-time
    augmentation."""
    for sample in data_samples or ():
        if isinstance(sample, (list, tuple)):
            yield from _samples(sample)
        else:
            yield sample


@HOOKS.register_module()
class SegLabelCheckHook(Hook):
    """Stops a segmentation run at the first label that is neither a class
    index nor the ignore index, naming the file and the value.

    Without it, such labels make the training loss fail with an
    ``IndexError`` that names no file, and evaluation leaves them out of
    every class, so aAcc and mIoU come out too high.

    The classes are those of the dataloader's dataset; the ignore index is
    the decode head's (255 by default).

    Args:
        ignore_index (int, optional): The label to ignore. Defaults to None:
            the decode head's ``ignore_index``, else 255.
    """
    priority = 'VERY_HIGH'

    def __init__(self, ignore_index: Optional[int] = None):
        self.ignore_index = ignore_index

    def _ignore_index(self, runner) -> int:
        if self.ignore_index is not None:
            return self.ignore_index
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model = getattr(model, 'module', model)  # test-time augmentation
        head = getattr(model, 'decode_head', None)
        return getattr(head, 'ignore_index', 255)

    def _check(self, runner, dataloader, data_batch, mode: str) -> None:
        if not isinstance(data_batch, dict):
            return
        classes: Sequence = dataloader.dataset.metainfo.get('classes', ())
        num_classes = len(classes)
        ignore_index = self._ignore_index(runner)
        for sample in _samples(data_batch.get('data_samples')):
            if 'gt_sem_seg' not in sample:
                continue
            values = torch.unique(sample.gt_sem_seg.data)
            bad = values[((values < 0) | (values >= num_classes))
                         & (values != ignore_index)]
            if len(bad):
                where = sample.metainfo.get('seg_map_path', 'a label map')
                raise InvalidLabelError(
                    f'{mode}: label {bad[0].item()} in {where} (after the '
                    f'pipeline, reduce_zero_label='
                    f'{sample.metainfo.get("reduce_zero_label")}) is not a '
                    f'class: the dataset has {num_classes} classes, so '
                    f'valid labels are 0..{num_classes - 1} and '
                    f'{ignore_index} (ignored). Fix the annotation, or the '
                    f"dataset's classes / reduce_zero_label.")

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(runner, runner.train_dataloader, data_batch, 'train')

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(runner, runner.val_dataloader, data_batch, 'val')

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(runner, runner.test_dataloader, data_batch, 'test')
