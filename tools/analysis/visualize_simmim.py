# Copyright (c) mmsepvit contributors. All rights reserved.
"""Write a PNG of what a SimMIM checkpoint makes of images: one row per
image, original | masked | reconstructed.

    python tools/analysis/visualize_simmim.py CONFIG CHECKPOINT IMAGE
        [IMAGE ...] [--out simmim.png] [--seed 0]

CONFIG is the SimMIM config (file or model name) the checkpoint was trained
with (the one the Runner saved in the work dir has any ``--cfg-options``
of that run, a decoder changed there too); its mask generator masks the
images (resized and centre-cropped to its input size), and the
checkpoint's model fills in the masked patches.
The reconstructed column shows the visible pixels as they are and the
model's prediction in the grey patches.
"""
import argparse

import mmcv
import numpy as np

from mmsepvit.apis import build_model, check_image, reconstruct
from mmsepvit.apis.simmim import mask_generator_cfg
from mmsepvit.cli import add_config_arg, load_config, run
from mmsepvit.utils import load_checkpoint_into


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_config_arg(parser)
    parser.add_argument('checkpoint', help='SimMIM checkpoint')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out', default='simmim.png', help='output PNG')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the masks')
    return parser.parse_args()


def main():
    args = parse_args()
    for image in args.images:
        check_image(image)
    cfg = load_config(args.config)
    mask_generator_cfg(cfg)  # a SimMIM config, before loading weights
    model = build_model(cfg)
    load_checkpoint_into(
        model,
        args.checkpoint,
        hint=' Give the config the checkpoint was trained with (the Runner '
        'saved it in the work dir, --cfg-options included).')
    rows = [
        np.concatenate(r[:3], axis=1)
        for r in reconstruct(model, cfg, args.images, args.seed)
    ]
    mmcv.imwrite(mmcv.rgb2bgr(np.concatenate(rows, axis=0)), args.out)
    print(f'original | masked | reconstructed, {len(rows)} image(s): '
          f'{args.out}')


if __name__ == '__main__':
    run(main)
