# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a trained model on one image and save the visualised prediction.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out result.png]
        [--amp [--amp-dtype D]] [--device cpu]

CONFIG is a config file or a model name of mmsepvit's model index
(``sepvit-t_in1k``, ``upernet_sepvit-s_ade20k``, ...;
``mmsepvit.apis.list_models()`` lists them).

Segmentation: the mask blended over the image; detection: boxes and masks;
classification: the predicted label and score written on the image. Uses
each host toolbox's inferencer, so any mmsepvit config works.
"""
import argparse

import torch

from mmsepvit.apis import build_inferencer, check_image, save_prediction
from mmsepvit.cli import (add_amp_args, add_config_arg, amp_dtype,
                          load_config, run)
from mmsepvit.utils import require_file


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='image file')
    add_config_arg(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default='result.png', help='output PNG')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='detection threshold')
    parser.add_argument('--device', default='cpu')
    add_amp_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    dtype = amp_dtype(args, on_gpu=torch.device(args.device).type == 'cuda')
    check_image(args.image)
    require_file(args.checkpoint, 'checkpoint')
    inferencer = build_inferencer(
        load_config(args.config), args.checkpoint, args.device)
    save_prediction(inferencer, args.image, args.out, args.score_thr,
                    getattr(torch, dtype) if dtype else None)


if __name__ == '__main__':
    run(main)
