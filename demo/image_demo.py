# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a trained model on one image and save the visualised prediction.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out result.png]

CONFIG is a config file or a model name of mmsepvit's model index
(``sepvit-t_in1k``, ``upernet_sepvit-s_ade20k``, ...;
``mmsepvit.apis.list_models()`` lists them).

Segmentation: the mask blended over the image; detection: boxes and masks;
classification: the predicted label and score written on the image. Uses
each host toolbox's inferencer, so any mmsepvit config works.
"""
import argparse
import sys

from mmengine.config import Config

from mmsepvit.apis import (build_inferencer, check_image, get_config_path,
                           save_prediction)
from mmsepvit.utils import CheckpointFileError


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file or model name')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default='result.png', help='output PNG')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='detection threshold')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        check_image(args.image)
        inferencer = build_inferencer(
            Config.fromfile(get_config_path(args.config)), args.checkpoint,
            args.device)
        save_prediction(inferencer, args.image, args.out, args.score_thr)
    except (CheckpointFileError, ValueError) as error:
        sys.exit(f'Error: {error}')


if __name__ == '__main__':
    main()
