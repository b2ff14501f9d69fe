# Copyright (c) mmsepvit contributors. All rights reserved.
"""The accuracy-speed frontier of ImageNet classifiers: which models of
mmsepvit's and mmpretrain's zoos to time, what their metafiles report, and
which of them no other model beats on both accuracy and speed."""
import difflib
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from mmsepvit.apis import load_model_index
from mmsepvit.apis.model_index import UnknownModelError
from mmsepvit.hosts import HOSTS

IMAGENET = 'ImageNet-1k'
TASK = HOSTS['mmpretrain'].task
# The default comparison: mmpretrain's ImageNet-1k models of these families
# at 224x224 between 1 and 20 GFLOPs, one checkpoint per network.
FAMILIES = ('Swin-Transformer', 'Twins', 'PVTv2', 'ConvNeXt', 'DeiT',
            'EfficientFormer', 'PoolFormer', 'MobileViT', 'EfficientNet')
DEFAULT_SIZE = 224
DEFAULT_FLOPS = (1e9, 20e9)
OURS = 'reported by the authors, not reproduced here'


@dataclass(frozen=True)
class ZooModel:
    """A classifier of a model zoo and what its metafile reports.

    Args:
        name (str): Its model name.
        family (str): Its collection (``'SepViT'``, ``'Swin-Transformer'``).
        config (str): Its config file.
        top1 (float): Reported ImageNet-1k top-1 accuracy (%).
        flops (int): Reported multiply-accumulates of one image.
        params (int): Reported parameters.
        source (str): Where ``top1`` comes from.
    """
    name: str
    family: str
    config: str
    top1: float
    flops: int
    params: int
    source: str

    @property
    def is_sepvit(self) -> bool:
        return self.family == 'SepViT'


def _imagenet_top1(results) -> Optional[float]:
    for result in results or ():
        if result['Task'] == TASK and result['Dataset'] == IMAGENET:
            return result['Metrics'].get('Top 1 Accuracy')
    return None


def _mmsepvit_models() -> Dict[str, ZooModel]:
    models = {}
    for name, model in load_model_index().items():
        top1 = _imagenet_top1(model.get('Results'))
        if top1 is not None:
            models[name] = ZooModel(name, model['In Collection'],
                                    model['Config'], top1,
                                    model['Metadata']['FLOPs'],
                                    model['Metadata']['Parameters'], OURS)
    return models


def _mmpretrain_models() -> Dict[str, ZooModel]:
    # mmpretrain's model index, read with the modelindex library as
    # mmpretrain's ModelHub reads it (the hub's listing loads every config).
    import mmpretrain
    from modelindex.load_model_index import load
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim')
    index = load(osp.join(root, 'model-index.yml'))
    index.build_models_with_collections()
    models = {}
    for model in index.models:
        name = model.name.lower()
        model.config = model.config and osp.join(root, model.config)
        results = [
            dict(
                Task=r.task,
                Dataset=r.dataset,
                Metrics=r.metrics) for r in (model.results or ())
        ]
        top1 = _imagenet_top1(results)
        metadata = model.metadata
        if (top1 is None or metadata is None or not metadata.flops
                or not isinstance(model.config, str)):
            continue
        models.setdefault(
            name,
            ZooModel(name, model.in_collection, model.config, top1,
                     int(metadata.flops), int(metadata.parameters or 0),
                     'mmpretrain metafile'))
    return models


def zoo() -> Dict[str, ZooModel]:
    """Every ImageNet-1k classifier with a reported top-1: mmsepvit's
    model index, then mmpretrain's (its own names win nothing over ours)."""
    return {**_mmpretrain_models(), **_mmsepvit_models()}


def find_models(names: Sequence[str]) -> List[ZooModel]:
    """The zoo models of ``names``; :class:`UnknownModelError` naming the
    closest ones for a name that is not there."""
    models = zoo()
    for name in names:
        if name not in models:
            close = difflib.get_close_matches(name, models, n=3, cutoff=0.5)
            raise UnknownModelError(
                f'{name!r} is not an ImageNet-1k classifier of mmsepvit or '
                f'mmpretrain with a reported top-1' +
                (f'; did you mean {", ".join(close)}?' if close else '.'))
    return [models[name] for name in names]


def input_size(config: Config) -> int:
    """The side of the square a classifier's test pipeline crops (its
    ``CenterCrop``, ``EfficientNetCenterCrop``, ...), else resizes to."""
    pipeline = config.test_dataloader.dataset.pipeline
    for key in ('crop_size', 'scale'):
        for transform in pipeline:
            if key in transform:
                size = transform[key]
                return size if isinstance(size, int) else size[0]
    return DEFAULT_SIZE


def default_models() -> List[ZooModel]:
    """SepViT's ImageNet models, and per network of :data:`FAMILIES` the
    best-reported ImageNet-1k-only checkpoint at 224x224 between 1 and 20
    GFLOPs."""
    best = {}
    for model in zoo().values():
        if model.is_sepvit:
            best[model.name] = model
            continue
        if (model.family not in FAMILIES or 'in21k' in model.name
                or not DEFAULT_FLOPS[0] <= model.flops <= DEFAULT_FLOPS[1]):
            continue
        config = Config.fromfile(model.config)
        if input_size(config) != DEFAULT_SIZE:
            continue
        network = repr(config.model.to_dict())
        if network not in best or best[network].top1 < model.top1:
            best[network] = model
    return sorted(best.values(), key=lambda m: (m.family, m.flops))


def pareto_front(latencies: Sequence[float],
                 top1s: Sequence[float]) -> List[bool]:
    """For each point, whether no other point is both faster (lower latency)
    and more accurate, or as good in one and better in the other."""
    points = list(zip(latencies, top1s))
    return [
        not any((l2 <= l1 and a2 >= a1) and (l2 < l1 or a2 > a1)
                for l2, a2 in points) for l1, a1 in points
    ]
