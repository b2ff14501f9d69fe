# Copyright (c) mmsepvit contributors. All rights reserved.
"""A hook for the multi-process tests: each rank records the images it
trained on and its final weights."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DistProbeHook(Hook):

    def before_run(self, runner):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(
            [sample.img_path for sample in data_batch['data_samples']])

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(
            dict(
                seen=self.seen,
                params={
                    k: v.detach().clone()
                    for k, v in model.named_parameters()
                }), osp.join(runner.work_dir, f'probe_rank{get_rank()}.pth'))
