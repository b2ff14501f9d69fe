# Copyright (c) mmsepvit contributors. All rights reserved.
"""Write the synthetic shapes datasets the demo configs train on.

    python tools/misc/make_shapes_data.py [--root data/shapes]
"""
import argparse
import time

from mmsepvit.demo_data import make_shapes_datasets
from mmsepvit.cli import at_least, run


def main():
    parser = argparse.ArgumentParser(
        description='Generate the shapes demo datasets in the ImageNet, '
        'ADE20K and COCO layouts')
    parser.add_argument('--root', default='data/shapes', help='output dir')
    parser.add_argument('--num-train', type=at_least(1), default=400)
    parser.add_argument('--num-val', type=at_least(1), default=60)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    start = time.time()
    make_shapes_datasets(
        args.root,
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed)
    print(f'Wrote {args.num_train} train + {args.num_val} val images per '
          f'layout (imagenet/, ade/, coco/) under {args.root} in '
          f'{time.time() - start:.1f}s')


if __name__ == '__main__':
    run(main)
