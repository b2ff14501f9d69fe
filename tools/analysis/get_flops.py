# Copyright (c) mmsepvit contributors. All rights reserved.
"""Parameters and FLOPs of a config's model, counted the SepViT authors' way
(fvcore: one multiply-accumulate is one flop, attention matmuls included).

    python tools/analysis/get_flops.py CONFIG_OR_MODEL_NAME [--shape H [W]]

Classification configs are counted whole (backbone, neck, head);
segmentation and detection configs count the backbone and neck, whose cost
depends only on the input size.
"""
import argparse

from mmsepvit.apis import get_model_complexity
from mmsepvit.cli import (OptionError, add_cfg_options_arg, add_config_arg,
                          at_least, load_config, run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_config_arg(parser)
    parser.add_argument(
        '--shape',
        type=at_least(1),
        nargs='+',
        help='input size: H [W] (default: 224 cls, 512 seg, 800x1344 det)')
    add_cfg_options_arg(parser)
    args = parser.parse_args()

    if args.shape and len(args.shape) > 2:
        raise OptionError(f'--shape takes H or H W, got {args.shape}.')
    cfg = load_config(args.config, args.cfg_options)
    shape = args.shape and tuple(args.shape * 2 if len(args.shape) == 1
                                 else args.shape)
    try:
        result = get_model_complexity(cfg, shape)
    except ValueError as error:  # the model refuses the input size
        raise OptionError(str(error))
    print(f'Config: {args.config}\nInput shape: {(1, 3, *result.shape)}\n'
          f'FLOPs ({result.counted}): {result.flops / 1e9:.3f} G\n'
          f'Params: {result.params / 1e6:.3f} M (backbone '
          f'{result.backbone_params / 1e6:.3f} M)')


if __name__ == '__main__':
    run(main)
