# Copyright (c) mmsepvit contributors. All rights reserved.
"""Names for mmsepvit's configs, read from its model index.

``model-index.yml`` imports one ``metafile.yml`` per config folder (the
OpenMMLab layout that mim and mmengine read from ``mmsepvit/.mim``). A name
stands for a config: ``sepvit-t_in1k`` for ``configs/cls/sepvit_t_in1k.py``.
"""
import difflib
import fnmatch
import os.path as osp
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

from mmengine.fileio import load

from mmsepvit.hosts import HOSTS
from mmsepvit.utils import UserError

# Installed packages and clones alike: .mim holds configs/ and
# model-index.yml (links in a clone and an editable install, copies in a
# wheel).
MIM_ROOT = Path(__file__).resolve().parents[1] / '.mim'
MODEL_INDEX = MIM_ROOT / 'model-index.yml'


@lru_cache()
def load_model_index() -> Dict[str, dict]:
    """Every model of the index by name; its ``Config`` is absolute."""
    models = {}
    for metafile in load(str(MODEL_INDEX))['Import']:
        for model in load(str(MIM_ROOT / metafile))['Models']:
            model = dict(model, Config=str(MIM_ROOT / model['Config']))
            models[model['Name']] = model
    return models


class UnknownModelError(UserError, ValueError):
    """Neither a config file nor a model name of the index."""


def list_models(pattern: str = '*') -> List[str]:
    """Names of the index's models that match a shell-style ``pattern``."""
    return sorted(fnmatch.filter(load_model_index(), pattern))


def get_config_path(name_or_path: str) -> str:
    """The config file of a model name, or ``name_or_path`` itself if it is a
    file; :class:`UnknownModelError` naming the closest names otherwise."""
    if osp.isfile(name_or_path):
        return name_or_path
    models = load_model_index()
    if name_or_path in models:
        return models[name_or_path]['Config']
    close = difflib.get_close_matches(name_or_path, models, n=3, cutoff=0.5)
    raise UnknownModelError(
        f'{name_or_path!r} is neither a config file nor a model name; '
        + (f'did you mean {", ".join(close)}? ' if close else '') +
        'mmsepvit.apis.list_models() lists the names.')


def register_in_model_hub() -> None:
    """Give mmpretrain's ``ModelHub`` (``get_model``, ``list_models``,
    ``ImageClassificationInferencer``) our classification models' names,
    through its public ``register_model_index``. Call it before using
    their names in mmpretrain (importing mmsepvit does not touch
    mmpretrain); idempotent."""
    from mmpretrain.apis.model import ModelHub
    metafile = MIM_ROOT / 'configs' / HOSTS['mmpretrain'].config_folder / \
        'metafile.yml'
    names = [model['Name'] for model in load(str(metafile))['Models']]
    if not all(ModelHub.has(name.lower()) for name in names):
        ModelHub.register_model_index(str(metafile), config_prefix=MIM_ROOT)
