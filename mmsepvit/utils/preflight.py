# Copyright (c) mmsepvit contributors. All rights reserved.
"""Checks ``tools/train.py`` and ``tools/test.py`` run before the Runner, so
that a missing dataset or checkpoint stops with one message saying what was
looked for and how to get it, rather than deep in a worker."""
import os.path as osp
from typing import Iterator, Sequence, Tuple

from mmengine.config import Config

DATASET_DOCS = 'docs/dataset_prepare.md'
_DATASET_NAMES = {
    'ImageNet': 'ImageNet-1K',
    'ADE20KDataset': 'ADE20K',
    'CocoDataset': 'COCO 2017',
    'CustomDataset': 'the shapes demo data',
}


class MissingInputError(FileNotFoundError):
    """A dataset or checkpoint file named by the config does not exist."""


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


def check_datasets(cfg: Config, loaders: Sequence[str]) -> None:
    """Raise :class:`MissingInputError` if a dataset path does not exist.

    Args:
        cfg (Config): The full config.
        loaders (Sequence[str]): Which dataloaders will run, e.g.
            ``('train_dataloader', 'val_dataloader')``.
    """
    for loader in loaders:
        if not cfg.get(loader):
            continue
        for where, dataset in _datasets(cfg[loader], loader):
            for field, path in _dataset_paths(dataset):
                if osp.exists(path):
                    continue
                kind = _DATASET_NAMES.get(dataset.get('type'),
                                          dataset.get('type'))
                raise MissingInputError(
                    f'Dataset not found: {path!r} ({where}.{field}) does '
                    f'not exist.\nPrepare {kind} as {DATASET_DOCS} '
                    f'describes, or point the config at your copy with '
                    f'--cfg-options {where}.data_root=/path/to/it.\nThe '
                    f'configs named *demo* use generated data: run '
                    f'python tools/misc/make_shapes_data.py first.')


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
