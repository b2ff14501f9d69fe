# Copyright (c) mmsepvit contributors. All rights reserved.
"""Shims that let the pinned OpenMMLab releases run on current PyTorch.

Each shim names the release gap it covers; drop it once the pinned release
carries the fix. :func:`apply_compat_shims` runs when ``mmsepvit`` is
imported (also through a config's ``custom_imports``) and is idempotent.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version


def load_from_local(filename, map_location):
    """mmengine's local-file checkpoint loader, with ``weights_only=False``.

    PyTorch 2.6 changed ``torch.load`` to ``weights_only=True`` by default.
    Checkpoints saved by mmengine's Runner pickle a ``HistoryBuffer`` and
    numpy objects, so mmengine 0.10.7 (the latest release) fails to load
    them for ``tools/test.py``, ``--resume``, ``load_from`` and
    ``Pretrained`` inits. mmengine fixed this after 0.10.7 in the same way
    (open-mmlab/mmengine#1670). Only local files, which the user chose to
    load, go through this loader.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def apply_compat_shims() -> None:
    """Install the shims the running PyTorch needs."""
    if digit_version(torch.__version__) >= digit_version('2.6.0'):
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_from_local, force=True)
