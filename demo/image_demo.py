# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a trained model on one image and save the visualised prediction.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out result.png]

Segmentation: the mask blended over the image; detection: boxes and masks;
classification: the predicted label and score written on the image. Uses each host
toolbox's inferencer, so any mmsepvit config works.
"""
import argparse
import os.path as osp

import mmcv
from mmengine.config import Config

import mmsepvit  # noqa: F401  (compat shims for loading the checkpoint)


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


def visualise(args) -> None:
    cfg = Config.fromfile(args.config)
    scope = cfg.default_scope
    if scope == 'mmseg':
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(
            cfg, weights=args.checkpoint, device=args.device)
        result = inferencer(args.image, return_vis=True)
        image = result['visualization'][0]
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
        image = inferencer(
            args.image, return_vis=True, show=False)['visualization'][0]
    else:
        raise SystemExit(f'Unknown default_scope {scope!r} in {args.config}')
    mmcv.imwrite(mmcv.rgb2bgr(image), args.out)
    print(f'Saved the {scope} prediction to {osp.abspath(args.out)}')


if __name__ == '__main__':
    visualise(parse_args())
