# Copyright (c) mmsepvit contributors. All rights reserved.
"""Persistent data workers reseeded per epoch draw in an epoch what new
workers draw in it: a resumed run's augmentation equals an uninterrupted
one's."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader, Dataset

from mmsepvit.engine import ResumableCheckpointHook
from mmsepvit.engine.hooks.resumable_checkpoint_hook import get_rng_state
from mmsepvit.engine.worker_seeding import (EpochSeededWorkers,
                                            can_seed_per_epoch)

SEED = 7


class RandomDraws(Dataset):
    """Each sample is one draw of Python's, numpy's and PyTorch's
    generators, as random augmentations make them."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return torch.tensor(
            [random.random(),
             np.random.rand(),
             torch.rand(()).item()])


def seed_worker(worker_id):
    # mmengine's worker_init_fn: the same seed for a worker every time.
    random.seed(worker_id)
    np.random.seed(worker_id)
    torch.manual_seed(worker_id)


def loader(**kwargs):
    options = dict(
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        worker_init_fn=seed_worker)
    options.update(kwargs)
    return DataLoader(RandomDraws(), **options)


def epochs(data_loader, first, last, seeded=None):
    draws = []
    for epoch in range(first, last + 1):
        if seeded is not None:
            seeded.start_epoch(epoch, SEED)
        draws.append(torch.cat(list(data_loader)))
    return draws


def test_new_workers_draw_what_persistent_ones_do_in_an_epoch():
    uninterrupted = loader()
    seeded = EpochSeededWorkers(uninterrupted, rank=0)
    draws = epochs(uninterrupted, 0, 2, seeded)
    resumed = loader()
    resumed_draws = epochs(resumed, 2, 2, EpochSeededWorkers(resumed, 0))
    assert torch.equal(draws[2], resumed_draws[0])
    # Each epoch draws anew, and every worker its own numbers.
    assert not torch.equal(draws[1], draws[2])
    assert draws[2].unique().numel() == draws[2].numel()
    # Without the reseeding, new workers draw what old ones drew in their
    # first epoch, not what they draw in the third.
    plain = epochs(loader(), 0, 2)
    assert not torch.equal(plain[2], epochs(loader(), 2, 2)[0])


def test_the_rank_and_the_seed_change_the_draws():
    draws = {}
    for rank, seed in ((0, SEED), (1, SEED), (0, SEED + 1)):
        data_loader = loader()
        seeded = EpochSeededWorkers(data_loader, rank)
        seeded.start_epoch(0, seed)
        draws[rank, seed] = torch.cat(list(data_loader))
    assert not torch.equal(draws[0, SEED], draws[1, SEED])
    assert not torch.equal(draws[0, SEED], draws[0, SEED + 1])


def test_only_loaders_whose_persistent_workers_have_not_started():
    assert can_seed_per_epoch(loader())
    for unfit in (loader(persistent_workers=False, num_workers=0),
                  loader(persistent_workers=False),
                  loader(batch_size=None)):
        assert not can_seed_per_epoch(unfit)
        with pytest.raises(ValueError, match='persistent workers'):
            EpochSeededWorkers(unfit, 0)
    started = loader()
    next(iter(started))
    assert not can_seed_per_epoch(started)


def resumed_runner(data_loader, work_dir):
    """What the checkpoint hook sees of a runner resuming an epoch-based
    run at its second epoch."""
    logger = MMLogger.get_instance('worker_seeding_test')
    model = torch.nn.Linear(2, 2)
    return SimpleNamespace(
        work_dir=str(work_dir), logger=logger, train_dataloader=data_loader,
        train_loop=SimpleNamespace(), model=model, cfg={}, world_size=1,
        epoch=1, iter=4, seed=SEED), model


def test_the_checkpoint_hook_reseeds_persistent_workers_or_says_it_cannot(
        tmp_path, capsys):
    """Persistent workers not yet started are reseeded per epoch and the
    training process's generators restored once the epoch's iterator has
    drawn its seed; workers started before training are not, and resuming
    says so."""
    for started in (False, True):
        data_loader = loader()
        if started:
            next(iter(data_loader))
        runner, model = resumed_runner(data_loader, tmp_path)
        hook = ResumableCheckpointHook(interval=1)
        hook.before_train(runner)
        saved = get_rng_state()
        hook.after_load_checkpoint(
            runner, dict(state_dict=model.state_dict(), rng_states=[saved]))
        expected = torch.rand(3)
        capsys.readouterr()
        hook.before_train_epoch(runner)
        next(iter(data_loader))
        hook.before_train_iter(runner, 0)
        drawn = torch.rand(3)
        assert ('not bit-identically' in capsys.readouterr().out) == started
        if not started:
            assert torch.equal(drawn, expected)
