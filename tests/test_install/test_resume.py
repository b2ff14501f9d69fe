# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmengine Runner checkpoints load under PyTorch >= 2.6 (mmsepvit's compat
shim) and resuming continues a run exactly."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.utils import digit_version

import mmsepvit  # noqa: F401  (installs the shims)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


class Interrupt(Hook):
    """Kills the run after an epoch, once its checkpoint is written."""
    priority = 'LOWEST'

    def __init__(self, after_epoch):
        self.after_epoch = after_epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.after_epoch:
            raise KeyboardInterrupt


def _dataset():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(24, 4, generator=generator)
    targets = inputs.sum(1, keepdim=True)
    return [dict(inputs=x, targets=y) for x, y in zip(inputs, targets)]


def _runner(work_dir, name, load_from=None, hooks=()):
    torch.manual_seed(0)  # the same initial weights in every run
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=_dataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=4,
            num_workers=0),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], by_epoch=True),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=list(hooks),
        randomness=dict(seed=0),
        load_from=load_from,
        resume=load_from is not None,
        default_scope='mmengine')


@pytest.mark.skipif(
    digit_version(torch.__version__) < digit_version('2.6.0'),
    reason='torch.load defaults to weights_only only from PyTorch 2.6')
def test_runner_checkpoint_needs_the_shim(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, 'plain', hooks=[Interrupt(1)]).train()
    # PyTorch's default refuses the mmengine objects in a Runner checkpoint;
    # only the shim lets mmengine load it.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'epoch_1.pth')


def test_resume_continues_exactly(tmp_path):
    uninterrupted = _runner(tmp_path / 'full', 'full')
    uninterrupted.train()

    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path / 'cut', 'cut', hooks=[Interrupt(2)]).train()
    resumed = _runner(
        tmp_path / 'cut',
        'resumed',
        load_from=str(tmp_path / 'cut' / 'epoch_2.pth'))
    resumed.train()

    assert resumed.epoch == uninterrupted.epoch == 4
    assert resumed.iter == uninterrupted.iter == 4 * 6
    for (name, a), b in zip(uninterrupted.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
