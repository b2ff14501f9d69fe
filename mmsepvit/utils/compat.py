# Copyright (c) mmsepvit contributors. All rights reserved.
"""Shims that let the pinned OpenMMLab releases run on current PyTorch.

Each shim names the release gap it covers; drop it once the pinned release
carries the fix. :func:`apply_compat_shims` runs when ``mmsepvit`` is
imported (also through a config's ``custom_imports``) and is idempotent.
"""
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader

from .safe_checkpoint import load_checkpoint_file


def load_from_local(filename, map_location):
    """mmengine's local-file checkpoint loader, safe and working on
    PyTorch >= 2.6.

    mmengine 0.10.7 (the latest release) calls ``torch.load`` without
    ``weights_only``. Since PyTorch 2.6 that means ``weights_only=True``,
    which refuses the ``HistoryBuffer`` and numpy objects in the Runner's own
    checkpoints, so ``tools/test.py``, ``--resume``, ``load_from`` and
    ``Pretrained`` inits fail. mmengine's unreleased fix
    (open-mmlab/mmengine#1670) loads with ``weights_only=False``, which runs
    any code a file names. This loader keeps ``weights_only=True``, allows
    exactly what Runner checkpoints hold and checks the file's checksums
    (:func:`mmsepvit.utils.safe_checkpoint.load_checkpoint_file`).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location=map_location)


def apply_compat_shims() -> None:
    """Install the shims."""
    # Local files only (mmengine's '' scheme); URLs keep mmengine's loaders.
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
