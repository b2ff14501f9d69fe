# Copyright (c) mmsepvit contributors. All rights reserved.
"""Checks ``tools/train.py`` and ``tools/test.py`` run before the Runner, so
that a missing or empty dataset, a missing checkpoint or a backbone whose
maps do not fit the neck stops with one message saying what was wrong and
what would be right, rather than deep in a worker; and the checkpoint
``--resume`` continues from (:func:`find_resumable_checkpoint`)."""
import glob
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmsepvit.utils import (CheckpointFileError, ConfigMismatchError,
                            MissingInputError, verify_checkpoint_file)

DATASET_DOCS = 'docs/dataset_prepare.md'
# Where the configs expect the datasets DATASET_DOCS describes.
_KNOWN_DATASETS = {
    'data/imagenet': 'ImageNet-1K',
    'data/ade/ADEChallengeData2016': 'ADE20K',
    'data/coco': 'COCO 2017',
    'data/shapes': 'the generated shapes data',
}
_SHAPES_HINT = 'Make it with: python tools/misc/make_shapes_data.py'


def _datasets(cfg: dict, where: str) -> Iterator[Tuple[str, dict]]:
    """Leaf dataset configs, looking through dataset wrappers."""
    if 'datasets' in cfg:
        for i, sub in enumerate(cfg['datasets']):
            yield from _datasets(sub, f'{where}.datasets.{i}')
    elif 'dataset' in cfg:
        yield from _datasets(cfg['dataset'], f'{where}.dataset')
    else:
        yield where, cfg


def _dataset_paths(dataset: dict) -> Iterator[Tuple[str, str]]:
    data_root = dataset.get('data_root') or ''
    if data_root:
        yield 'data_root', data_root
    if dataset.get('ann_file'):
        yield 'ann_file', osp.join(data_root, dataset['ann_file'])
    prefixes = dataset.get('data_prefix') or {}
    if isinstance(prefixes, str):
        prefixes = dict(img_path=prefixes)
    for key, prefix in prefixes.items():
        if prefix:
            yield f'data_prefix.{key}', osp.join(data_root, prefix)
    if dataset.get('split'):  # mmpretrain's ImageNet
        yield 'split', osp.join(data_root, dataset['split'])


def _dataset_name(dataset: dict) -> str:
    root = osp.normpath(dataset.get('data_root') or '.')
    for prefix, name in _KNOWN_DATASETS.items():
        if root == prefix or root.startswith(prefix + os.sep):
            return name
    return f'the {dataset.get("type", "configured")} dataset at {root!r}'


def _holds_a_file(path: str) -> bool:
    if osp.isfile(path):
        return osp.getsize(path) > 0
    for _, _, files in os.walk(path):
        if files:
            return True
    return False


def check_datasets(cfg: Config, loaders: Sequence[str]) -> None:
    """Raise :class:`MissingInputError` if a dataset path does not exist or
    is empty.

    Args:
        cfg (Config): The full config.
        loaders (Sequence[str]): Which dataloaders will run, e.g.
            ``('train_dataloader', 'val_dataloader')``.
    """
    for loader in loaders:
        if not cfg.get(loader):
            continue
        for where, dataset in _datasets(cfg[loader], loader):
            name = _dataset_name(dataset)
            how = (_SHAPES_HINT if name == _KNOWN_DATASETS['data/shapes'] else
                   f'Prepare {name} as {DATASET_DOCS} describes, or point '
                   f'the config at your copy with --cfg-options '
                   f'{where}.data_root=/path/to/it.')
            paths = list(_dataset_paths(dataset))
            for field, path in paths:
                if not osp.exists(path):
                    raise MissingInputError(
                        f'Dataset not found: {path!r} ({where}.{field}) does '
                        f'not exist.\n{how}')
                # A data_root alone holds the files (a folder of images).
                if ((field != 'data_root' or len(paths) == 1)
                        and not _holds_a_file(path)):
                    raise MissingInputError(
                        f'Dataset is empty: {path!r} ({where}.{field}) '
                        f'exists but holds no files.\n{how}')


def _pretrained_checkpoints(node, where: str) -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and node.get('checkpoint'):
            yield where + '.checkpoint', node['checkpoint']
        for key, value in node.items():
            yield from _pretrained_checkpoints(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_checkpoints(value, f'{where}.{i}')


def check_pretrained(cfg: Config) -> None:
    """Raise :class:`MissingInputError` if a local ``Pretrained`` checkpoint
    of the model does not exist (weights are never downloaded here)."""
    for where, path in _pretrained_checkpoints(cfg.model, 'model'):
        if '://' in path or osp.exists(path):
            continue
        parent = where.rsplit('.', 1)[0]
        raise MissingInputError(
            f'Pretrained weights not found: {path!r} ({where}).\nTrain the '
            f'matching configs/cls/ config, or convert the authors\' '
            f'ImageNet weights with '
            f'tools/model_converters/sepvit2mmsepvit.py, and put the file '
            f'there; or train from scratch with --cfg-options '
            f'{parent}=None.')


def _backbone_channels(backbone_cfg: dict, scope: str) -> List[int]:
    """Channels of the maps a SepViT backbone returns, from a model built on
    the meta device (no memory, no weights)."""
    init_default_scope(scope)
    with torch.device('meta'):
        backbone = MODELS.build(dict(backbone_cfg, init_cfg=None))
    return [backbone.embed_dims[i] for i in backbone.out_indices]


def check_model_channels(cfg: Config) -> None:
    """Raise :class:`ConfigMismatchError` if what reads a SepViT backbone's
    maps (the neck, else the decode head or the classification head)
    expects other channels than ``out_indices`` gives."""
    model = cfg.get('model') or {}
    model = model.get('module', model)  # inside a test-time-augmentation
    backbone = model.get('backbone') or {}
    if not str(backbone.get('type', '')).endswith('SepViT'):
        return
    channels = _backbone_channels(backbone, cfg.get('default_scope'))
    out_indices = backbone.get('out_indices', -1)
    gives = (f'model.backbone.out_indices={out_indices!r} returns '
             f'{len(channels)} maps of {channels} channels')
    neck = model.get('neck') or {}
    head = model.get('decode_head') or model.get('head') or {}
    head_key = 'decode_head' if 'decode_head' in model else 'head'
    if isinstance(neck.get('in_channels'), (list, tuple)):
        expected, where = list(neck['in_channels']), 'model.neck.in_channels'
    elif isinstance(head.get('in_channels'), (list, tuple)):
        in_index = head.get('in_index', list(range(len(channels))))
        in_index = [in_index] if isinstance(in_index, int) else in_index
        if any(not -len(channels) <= i < len(channels) for i in in_index):
            raise ConfigMismatchError(
                f'{gives}, but model.{head_key}.in_index={in_index!r} '
                f'selects maps that do not exist.')
        expected = list(head['in_channels'])
        channels = [channels[i] for i in in_index]
        where = f'model.{head_key}.in_channels'
    elif not neck.get('in_channels') and isinstance(
            head.get('in_channels'), int):
        expected, where = head['in_channels'], f'model.{head_key}.in_channels'
        channels = channels[-1]
    else:
        return
    if expected != channels:
        raise ConfigMismatchError(
            f'{gives}, but {where}={expected!r}. Make them agree, e.g. '
            f'--cfg-options {where}={channels!r} (or choose out_indices '
            f'that give {expected!r}).')


def find_resumable_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The checkpoint ``--resume`` continues from, and why others were
    passed over.

    The file ``last_checkpoint`` names comes first, then the other ``*.pth``
    files of ``work_dir``, newest first; the first one that exists and
    passes its checksums wins.

    Returns:
        tuple: The path (None if nothing is resumable) and one message per
        candidate passed over.
    """
    candidates = []
    last_checkpoint = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last_checkpoint):
        with open(last_checkpoint) as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
    newest_first = sorted(
        glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime, reverse=True)
    for path in newest_first:
        if osp.abspath(path) not in map(osp.abspath, candidates):
            candidates.append(path)
    passed_over = []
    for path in candidates:
        try:
            verify_checkpoint_file(path)
        except (OSError, CheckpointFileError) as error:
            passed_over.append(f'cannot resume from {path}: {error}')
            continue
        return path, passed_over
    return None, passed_over
