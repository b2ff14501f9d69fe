# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmsepvit's node in the mmengine registry tree.

Configs of any host toolbox can name ``type='mmsepvit.SepViT'``: mmengine
imports this module for the ``mmsepvit`` scope and ``mmsepvit.models`` from
``locations`` the first time the key is looked up.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmsepvit',
    locations=['mmsepvit.models'])
