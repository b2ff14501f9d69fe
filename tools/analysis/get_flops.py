# Copyright (c) mmsepvit contributors. All rights reserved.
"""Parameters and FLOPs of a config's model, counted the SepViT authors' way
(fvcore: one multiply-accumulate is one flop, attention matmuls included).

    python tools/analysis/get_flops.py CONFIG [--shape H [W]]

Classification configs are counted whole (backbone, neck, head);
segmentation and detection configs count the backbone and neck, whose cost
depends only on the input size.
"""
import argparse

import torch
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm

from mmsepvit.apis import build_model
from mmsepvit.utils import flop_analyzer

DEFAULT_SHAPES = dict(mmpretrain=(224, 224), mmseg=(512, 512), mmdet=(800, 1344))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input size: H [W] (default: 224 cls, 512 seg, 800x1344 det)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.default_scope
    shape = tuple(args.shape) if args.shape else DEFAULT_SHAPES[scope]
    if len(shape) == 1:
        shape = shape * 2
    cfg.model.backbone.init_cfg = None  # counting needs no weights
    model = revert_sync_batchnorm(build_model(cfg)).eval()
    if scope == 'mmpretrain':
        counted, what = model, 'whole model'
    else:
        model.forward = model.extract_feat
        counted = model
        what = 'backbone + neck' if model.with_neck else 'backbone'
    inputs = torch.rand(1, 3, *shape)
    with torch.no_grad():
        flops = flop_analyzer(counted, inputs).total()
    params = sum(p.numel() for p in model.parameters())
    backbone_params = sum(p.numel() for p in model.backbone.parameters())
    print(f'Config: {args.config}\nInput shape: {(1, 3, *shape)}\n'
          f'FLOPs ({what}): {flops / 1e9:.3f} G\n'
          f'Params: {params / 1e6:.3f} M (backbone '
          f'{backbone_params / 1e6:.3f} M)')


if __name__ == '__main__':
    main()
