# Copyright (c) mmsepvit contributors. All rights reserved.
import glob
import os
import os.path as osp
import random
from typing import Iterator, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import IterBasedTrainLoop

from mmsepvit.registry import HOOKS
from ..worker_seeding import EpochSeededWorkers, can_seed_per_epoch

PARTIAL_SUFFIX = '.partial'


def get_rng_state() -> dict:
    """The state of every random number generator training draws from."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _replace_durably(src: str, dst: str) -> None:
    """Rename ``src`` to ``dst`` once its bytes are on disk."""
    with open(src, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(src, dst)
    directory = os.open(osp.dirname(osp.abspath(dst)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


ATOMIC_LOCAL_BACKEND = 'mmsepvit_atomic_local'


@register_backend(ATOMIC_LOCAL_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes survive a kill: the bytes
    go to ``<path>.partial``, are flushed to disk and renamed over
    ``path``, so ``path`` is always either the old file or the whole new
    one."""

    def put(self, obj: bytes, filepath) -> None:
        super().put(obj, str(filepath) + PARTIAL_SUFFIX)
        _replace_durably(str(filepath) + PARTIAL_SUFFIX, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


class _DeferredRemovals:
    """A file backend that records ``remove`` / ``rmtree`` calls instead of
    running them, and passes everything else through."""

    def __init__(self, backend):
        self.backend = backend
        self.pending = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, path) -> None:
        self.pending.append((self.backend.remove, path))

    def rmtree(self, path) -> None:
        self.pending.append((self.backend.rmtree, path))

    def run(self) -> None:
        for remove, path in self.pending:
            remove(path)


class _RestoreBeforeDraw:
    """A train loop's data iterator that sets a random state right before
    its ``draw``-th batch (counting from 0) is drawn, then steps aside."""

    def __init__(self, loop: IterBasedTrainLoop, draw: int, state: dict):
        self._loop = loop
        self._inner: Iterator = loop.dataloader_iterator
        self._draws_left = draw
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._draws_left == 0:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._inner
        self._draws_left -= 1
        return next(self._inner)


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose checkpoints survive a crash and
    resume training exactly. Takes the same arguments.

    - **Crash-proof saving.** mmengine 0.10.7 deletes the oldest checkpoint
      (``max_keep_ckpts``) before writing the new one, and writes it and
      ``last_checkpoint`` in place, so a kill in between leaves nothing to
      resume from. Here mmengine's own saving runs with two changes: local
      files are written through :class:`AtomicLocalBackend` (to
      ``<name>.partial``, flushed to disk, renamed), and the checkpoints it
      deletes are deleted only once the new one and ``last_checkpoint`` are
      on disk. Other storage backends are left to mmengine.
    - **Random state.** The checkpoint carries the states of Python's,
      numpy's and PyTorch's (CPU and CUDA) random generators of every rank,
      which drop path, dropout and the data pipeline draw from; resuming
      restores them where the uninterrupted run would be. Iteration-based
      loops: right before the first batch not yet trained is drawn, after
      mmengine has drawn the trained ones again to advance the data loader
      (with ``num_workers=0`` those draws run the augmentation in this
      process and use its generators). Epoch-based loops: at the start of
      the next epoch, before its data loader iterator is made; with
      persistent data workers, once that iterator is made (a new one draws
      a seed for its new workers, an uninterrupted run's goes on), and the
      workers reseed their generators at every epoch
      (:class:`~mmsepvit.engine.worker_seeding.EpochSeededWorkers`), so
      that new workers draw what the uninterrupted run's old ones do.
    - Validation runs on a copy of the random state, so it draws nothing
      from the training stream whether or not a run was resumed.

    Exactness needs the same number of threads (a product split among
    other threads adds in another order) and the same data loader settings
    (number of workers, batch size). It holds with and without data
    workers, persistent or not, for iteration-based and epoch-based loops.
    Persistent workers that started before this hook's ``before_train``
    (or a loader without a batch size) cannot be reseeded per epoch;
    resuming such an epoch-based run says it is not exact.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (self.backend_args is None and self.file_client_args is None
                and '://' not in str(self.out_dir or '')):
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        self._rng_states_to_save: Optional[list] = None
        self._rng_state_to_restore: Optional[dict] = None
        self._rng_state_before_val: Optional[dict] = None
        self._seeded_workers: Optional[EpochSeededWorkers] = None

    def _saves_locally(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        loader = runner.train_dataloader
        if (not isinstance(runner.train_loop, IterBasedTrainLoop)
                and can_seed_per_epoch(loader)):
            self._seeded_workers = EpochSeededWorkers(loader, get_rank())
        if is_main_process() and self._saves_locally():
            # What a kill during a save left behind.
            pattern = osp.join(self.out_dir, '*' + PARTIAL_SUFFIX)
            for leftover in glob.glob(pattern):
                os.remove(leftover)

    # Random state -----------------------------------------------------------

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states, self._rng_states_to_save = self._rng_states_to_save, None
        if states is None and runner.world_size == 1:
            # A save outside _save_checkpoint_with_step (best checkpoints).
            states = [self._rng_state_before_val or get_rng_state()]
        if states is not None:
            checkpoint['rng_states'] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('rng_states')
        if states is None:
            return
        if len(states) != runner.world_size:
            runner.logger.warning(
                f'The checkpoint holds the random states of '
                f'{len(states)} processes but this run has '
                f'{runner.world_size}; training goes on with fresh ones.')
            return
        self._rng_state_to_restore = states[get_rank()]

    def _restore_rng_state(self, runner) -> None:
        state, self._rng_state_to_restore = self._rng_state_to_restore, None
        # Only a resumed run goes on at a step > 0; a run that loaded weights
        # to start from (load_from) keeps its own randomness.
        if state is not None and runner.iter > 0:
            set_rng_state(state)

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            state, self._rng_state_to_restore = \
                self._rng_state_to_restore, None
            if state is not None and runner.iter > 0:
                # mmengine draws the runner.iter trained batches next.
                loop.dataloader_iterator = _RestoreBeforeDraw(
                    loop, runner.iter, state)
            return
        if self._seeded_workers is not None:
            # The restore waits for before_train_iter (see the class
            # docstring).
            self._seeded_workers.start_epoch(runner.epoch, runner.seed)
            return
        loader = runner.train_dataloader
        if (self._rng_state_to_restore is not None and runner.iter > 0
                and loader.num_workers > 0 and loader.persistent_workers):
            runner.logger.warning(
                'Resuming an epoch-based run whose persistent data workers '
                'started before training (or whose train_dataloader has no '
                'batch size): training goes on correctly but not '
                'bit-identically to an uninterrupted run, whose workers '
                'kept their random state across epochs. Set '
                'train_dataloader.persistent_workers=False for exact '
                'resumes.')
        self._restore_rng_state(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._seeded_workers is not None:
            self._restore_rng_state(runner)

    def before_val(self, runner) -> None:
        self._rng_state_before_val = get_rng_state()

    def after_val(self, runner) -> None:
        if self._rng_state_before_val is not None:
            set_rng_state(self._rng_state_before_val)
            self._rng_state_before_val = None

    # Saving -----------------------------------------------------------------

    def _save_checkpoint_with_step(self, runner, step, meta):
        # Listed in mmsepvit.utils.compat: no public hook point holds both a
        # save and the deletions of older checkpoints.
        # mmengine's saving, with its deletions held back (see the class
        # docstring); inside validation (best checkpoints), the training
        # stream is the state validation started from.
        state = self._rng_state_before_val or get_rng_state()
        self._rng_states_to_save = all_gather_object(state)
        deletions = _DeferredRemovals(self.file_backend)
        self.file_backend = deletions
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.file_backend = deletions.backend
            self._rng_states_to_save = None  # only the main process saved
        if not is_main_process():
            return
        # mmengine writes this local file in place, whatever the backend.
        last_checkpoint = osp.join(runner.work_dir, 'last_checkpoint')
        with open(last_checkpoint) as f:
            AtomicLocalBackend().put_text(f.read(), last_checkpoint)
        deletions.run()
