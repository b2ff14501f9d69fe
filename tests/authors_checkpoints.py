# Copyright (c) mmsepvit contributors. All rights reserved.
"""Checkpoints in the authors' layout, and the converter that maps them to
mmsepvit's, for the tests."""
import torch
from cli_helpers import REPO, import_tool
from mmengine.config import Config
from sepvit_reference import authors_state_dict

from mmsepvit.apis import build_model as mmsepvit_build_model

CONVERTER = REPO / 'tools' / 'model_converters' / 'sepvit2mmsepvit.py'


def load_converter():
    return import_tool(CONVERTER)


def convert(checkpoint):
    """The converted state dict of an authors' checkpoint."""
    return load_converter().convert_sepvit(checkpoint)[0]


def backbone_part(state_dict):
    return {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }


def build_model(config, seed=0, cfg_options=None):
    """The config's model with fresh weights (no pretrained backbone)."""
    cfg = Config.fromfile(REPO / config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(seed)
    model = mmsepvit_build_model(cfg)
    model.init_weights()
    return model


def authors_whole_model(config, seed=0, cfg_options=None):
    """An authors'-layout detector or segmentor state dict: the authors'
    dense backbone under ``backbone.`` (with the classifier norm and head it
    builds and never uses), and the neck and heads of the config's model
    with other weights than the freshly built one, which is returned too.

    Returns:
        tuple: The state dict and the config's model.
    """
    arch = Config.fromfile(REPO / config).model.backbone.arch
    state = {
        f'backbone.{k}': v
        for k, v in authors_state_dict(arch, dense=True, seed=seed).items()
    }
    gen = torch.Generator().manual_seed(seed)
    model = build_model(config, seed, cfg_options)
    for key, value in model.state_dict().items():
        if not key.startswith('backbone.'):
            if value.is_floating_point():
                value = value + 0.01 * torch.randn(value.shape, generator=gen)
            state[key] = value
    return state, model
