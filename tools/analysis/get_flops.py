# Copyright (c) mmsepvit contributors. All rights reserved.
"""Parameters and FLOPs of a config's model, counted the SepViT authors' way
(fvcore: one multiply-accumulate is one flop, attention matmuls included).

    python tools/analysis/get_flops.py CONFIG_OR_MODEL_NAME [--shape H [W]]

Classification configs are counted whole (backbone, neck, head);
segmentation and detection configs count the backbone and neck, whose cost
depends only on the input size.
"""
import argparse

from mmengine.config import Config, DictAction

from mmsepvit.apis import get_config_path, get_model_complexity
from mmsepvit.utils.cli import at_least, check_option_keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or model name')
    parser.add_argument(
        '--shape',
        type=at_least(1),
        nargs='+',
        help='input size: H [W] (default: 224 cls, 512 seg, 800x1344 det)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    try:
        cfg = Config.fromfile(get_config_path(args.config))
    except ValueError as error:
        raise SystemExit(f'Error: {error}')
    if args.cfg_options:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    if args.shape and len(args.shape) > 2:
        raise SystemExit(f'Error: --shape takes H or H W, got {args.shape}.')
    shape = args.shape and tuple(args.shape * 2 if len(args.shape) == 1
                                 else args.shape)
    try:
        result = get_model_complexity(cfg, shape)
    except ValueError as error:
        raise SystemExit(f'Error: {error}')
    print(f'Config: {args.config}\nInput shape: {(1, 3, *result.shape)}\n'
          f'FLOPs ({result.counted}): {result.flops / 1e9:.3f} G\n'
          f'Params: {result.params / 1e6:.3f} M (backbone '
          f'{result.backbone_params / 1e6:.3f} M)')


if __name__ == '__main__':
    main()
