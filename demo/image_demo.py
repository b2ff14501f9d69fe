# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a trained model on one image and save the visualised prediction.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out result.png]

Segmentation: the mask blended over the image; detection: boxes and masks;
classification: the predicted label and score written on the image. Uses each host
toolbox's inferencer, so any mmsepvit config works.
"""
import argparse
import os.path as osp
import sys
import tempfile
from pathlib import Path

import mmcv
from mmengine.config import Config

from mmsepvit.utils import CheckpointFileError

# mmseg's visualiser fails on a 1x1 map.
MIN_SIDE = 2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default='result.png', help='output PNG')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='detection threshold')
    return parser.parse_args()


def check_image(path: str) -> None:
    """Stop with a message unless ``path`` is an image the demo can use."""
    if not osp.isfile(path):
        raise SystemExit(f'Error: image {path} does not exist.')
    image = mmcv.imread(path)
    if image is None:
        raise SystemExit(
            f'Error: {path} is not an image OpenCV can decode (JPEG, PNG, '
            f'BMP, TIFF, WebP, ...).')
    if min(image.shape[:2]) < MIN_SIDE:
        raise SystemExit(
            f'Error: {path} is {image.shape[1]}x{image.shape[0]} pixels; '
            f'the demo needs at least {MIN_SIDE}x{MIN_SIDE}.')


def visualise(args) -> None:
    check_image(args.image)
    cfg = Config.fromfile(args.config)
    scope = cfg.default_scope
    if scope == 'mmseg':
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(
            cfg, weights=args.checkpoint, device=args.device)
        # One image in: its visualisation comes back alone, not in a list.
        image = inferencer(
            args.image, return_vis=True, opacity=0.5)['visualization']
    elif scope == 'mmdet':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(
            cfg, weights=args.checkpoint, device=args.device)
        result = inferencer(
            args.image, return_vis=True, pred_score_thr=args.score_thr)
        image = result['visualization'][0]
    elif scope == 'mmpretrain':
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(
            cfg, pretrained=args.checkpoint, device=args.device)
        # This inferencer hands its drawing back only through a folder.
        with tempfile.TemporaryDirectory() as show_dir:
            # Small images get room for the label text.
            short_side = min(mmcv.imread(args.image).shape[:2])
            inferencer(
                args.image,
                show_dir=show_dir,
                resize=256 if short_side < 256 else None)
            image = mmcv.imread(
                osp.join(show_dir, Path(args.image).stem + '.png'),
                channel_order='rgb')
    else:
        raise SystemExit(f'Unknown default_scope {scope!r} in {args.config}')
    mmcv.imwrite(mmcv.rgb2bgr(image), args.out)
    print(f'Saved the {scope} prediction to {osp.abspath(args.out)}')


if __name__ == '__main__':
    try:
        visualise(parse_args())
    except CheckpointFileError as error:
        sys.exit(f'Error: {error}')
