# Copyright (c) mmsepvit contributors. All rights reserved.
"""Write the synthetic shapes datasets the demo configs train on.

    python tools/misc/make_shapes_data.py [--root data/shapes]
    python tools/misc/make_shapes_data.py --crowded   # data/shapes_crowded
"""
import argparse
import time

from shapes_data import make_crowded_shapes_dataset, make_shapes_datasets

from mmsepvit.cli import at_least, run


def main():
    parser = argparse.ArgumentParser(
        description='Generate the shapes demo datasets in the ImageNet, '
        'ADE20K and COCO layouts, or with --crowded the crowded detection '
        'set (COCO layout)')
    parser.add_argument(
        '--root',
        help='output dir (default: data/shapes, with --crowded '
        'data/shapes_crowded)')
    parser.add_argument(
        '--crowded',
        action='store_true',
        help='write 15-40 small, touching shapes of random colours per '
        'image in the COCO layout alone (default: 120 train, 30 val images '
        'of 384x384)')
    parser.add_argument('--num-train', type=at_least(1))
    parser.add_argument('--num-val', type=at_least(1))
    parser.add_argument(
        '--size',
        type=at_least(32),
        help='image side of the crowded set (default 384)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.size is not None and not args.crowded:
        parser.error('--size sets the crowded set\'s images; add --crowded')
    kwargs = {
        name: value
        for name, value in dict(
            num_train=args.num_train, num_val=args.num_val,
            size=args.size).items() if value is not None
    }
    start = time.time()
    if args.crowded:
        root = args.root or 'data/shapes_crowded'
        make_crowded_shapes_dataset(root, seed=args.seed, **kwargs)
        layouts = 'coco/, crowded'
    else:
        root = args.root or 'data/shapes'
        make_shapes_datasets(root, seed=args.seed, **kwargs)
        layouts = 'imagenet/, ade/, coco/'
    print(f'Wrote the shapes data ({layouts}) under {root} in '
          f'{time.time() - start:.1f}s')


if __name__ == '__main__':
    run(main)
