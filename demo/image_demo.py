# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a trained model on one image and save the visualised prediction.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out result.png]

Segmentation: the mask blended over the image; detection: boxes and masks;
classification: the predicted label and score written on the image. Uses each host
toolbox's inferencer, so any mmsepvit config works.
"""
import argparse
import os.path as osp
import tempfile
from pathlib import Path

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
    visualise(parse_args())
