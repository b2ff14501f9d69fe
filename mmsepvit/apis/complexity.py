# Copyright (c) mmsepvit contributors. All rights reserved.
import copy
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from mmsepvit.hosts import host_of
from mmsepvit.utils import flop_analyzer
from .inference import build_model


@dataclass
class ModelComplexity:
    """What :func:`get_model_complexity` counted.

    Args:
        flops (int): Multiply-accumulates of one image (fvcore's flops).
        params (int): Parameters of the whole model.
        backbone_params (int): Parameters of the backbone.
        shape (tuple[int, int]): The input (H, W).
        counted (str): Which part the flops cover.
    """
    flops: int
    params: int
    backbone_params: int
    shape: Tuple[int, int]
    counted: str


def get_model_complexity(cfg: Config,
                         shape: Optional[Tuple[int, int]] = None
                         ) -> ModelComplexity:
    """Parameters and FLOPs of a config's model, counted as the SepViT
    authors count (fvcore).

    Classification models are counted whole; segmentation and detection
    models count the backbone and neck, whose cost depends only on the
    input size (heads' cost depends on the image's content). A task
    distiller counts as its student (the frozen teacher is not part of the
    model it trains).

    Args:
        cfg (Config): The config; its pretrained weights are not loaded.
        shape (tuple[int, int], optional): Input (H, W). Defaults to the
            host toolbox's usual size: the backbone's ``img_size`` (224)
            for classification, 512² segmentation, 800x1344 detection.
    """
    host = host_of(cfg.get('default_scope'))
    cfg = copy.deepcopy(cfg)  # Config.copy is shallow: keep the caller's
    cfg.model = cfg.model.get('student', cfg.model)
    cfg.model.backbone.init_cfg = None  # counting needs no weights
    model = revert_sync_batchnorm(build_model(cfg)).eval()
    shape = tuple(shape or host.flops_shape or model.backbone.img_size)
    if host.flops_whole_model:
        counted = 'whole model'
    else:
        model.forward = model.extract_feat
        counted = 'backbone + neck' if model.with_neck else 'backbone'
    with torch.no_grad():
        flops = flop_analyzer(model, torch.rand(1, 3, *shape)).total()
    return ModelComplexity(
        flops=flops,
        params=sum(p.numel() for p in model.parameters()),
        backbone_params=sum(p.numel() for p in model.backbone.parameters()),
        shape=shape,
        counted=counted)
