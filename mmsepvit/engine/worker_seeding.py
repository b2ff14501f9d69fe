# Copyright (c) mmsepvit contributors. All rights reserved.
import random
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info

from mmsepvit.utils.compat import workers_started


def can_seed_per_epoch(loader: DataLoader) -> bool:
    """Whether :class:`EpochSeededWorkers` can take over ``loader``: its
    workers persist, have not started, and fetch whole batches."""
    return (loader.num_workers > 0 and loader.persistent_workers
            and loader.batch_sampler is not None
            and not workers_started(loader))


class EpochSeededWorkers:
    """Data workers that reseed their random generators at every epoch.

    Persistent workers (``persistent_workers=True``) keep Python's, numpy's
    and PyTorch's generators from one epoch to the next, so the new workers
    of a resumed run would draw other augmentations than those of the run
    it continues. Here each worker reseeds the three generators from
    ``(seed, epoch, rank, worker id)`` before the first batch it loads in
    an epoch, so that an uninterrupted and a resumed run draw alike.

    The main process announces the epoch and the seed in shared memory
    (:meth:`start_epoch`, before the epoch's iterator is made); each worker
    reads them once per batch. Install it before the loader's workers start
    (see :func:`can_seed_per_epoch`).

    Args:
        loader (DataLoader): The training data loader; its
            ``worker_init_fn`` still runs first.
        rank (int): This process's rank.
    """

    def __init__(self, loader: DataLoader, rank: int):
        if not can_seed_per_epoch(loader):
            raise ValueError(
                'EpochSeededWorkers needs a loader with persistent workers '
                'that have not started yet and a batch size.')
        self._announced = torch.full((2, ), -1,
                                     dtype=torch.int64).share_memory_()
        self._rank = rank
        self._worker_init_fn: Optional[Callable] = loader.worker_init_fn
        loader.worker_init_fn = self._init_worker

    def start_epoch(self, epoch: int, seed: int) -> None:
        """Announce ``epoch`` to the workers, before its iterator is
        made."""
        self._announced.copy_(torch.tensor([epoch, seed % 2**63]))

    def _init_worker(self, worker_id: int) -> None:
        if self._worker_init_fn is not None:
            self._worker_init_fn(worker_id)
        dataset = get_worker_info().dataset
        fetch = getattr(dataset, '__getitems__', None)
        seeded_for = []

        def fetch_batch(indices: Sequence[int]) -> List:
            announced = self._announced.tolist()
            if announced[0] >= 0 and seeded_for != announced:
                seeded_for[:] = announced
                self._reseed(*announced, worker_id)
            if fetch is not None:
                return fetch(indices)
            return [dataset[index] for index in indices]

        # torch's workers run no code of ours between epochs
        # (``worker_init_fn`` runs once per worker), but its fetcher loads
        # each batch through the dataset's ``__getitems__`` when it has
        # one. The dataset is this worker's own copy.
        dataset.__getitems__ = fetch_batch

    def _reseed(self, epoch: int, seed: int, worker_id: int) -> None:
        low, high = np.random.SeedSequence(
            [seed, epoch, self._rank, worker_id]).generate_state(2)
        random.seed(int(low))
        np.random.seed(low)
        torch.manual_seed((int(high) << 32 | int(low)) % 2**63)
