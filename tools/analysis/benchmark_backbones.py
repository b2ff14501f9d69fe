# Copyright (c) mmsepvit contributors. All rights reserved.
"""Forward throughput of SepViT-T against mmpretrain's Swin-T and
Twins-SVT-S, measured side by side in one run (CPU by default).

    python tools/analysis/benchmark_backbones.py [--batch-size 32]
        [--dense-batch-size 2] [--iters 5] [--device cpu]

Prints images/s of each backbone at 224x224 (classification settings) and at
512x512 (dense settings: four output stages), and each one's ratio to Swin-T.
The models are interleaved round by round so that machine noise hits all
alike; the median round counts.
"""
import argparse
import statistics
import time

import torch
from mmpretrain.models import SVT, SwinTransformer

from mmsepvit.models import SepViT


def candidates(dense: bool):
    out_indices = (0, 1, 2, 3) if dense else (3, )
    sepvit_mode = {} if dense else dict(
        window_token='per_window', single_window_pwa=False)
    return {
        'SepViT-T': lambda: SepViT(
            'tiny', out_indices=out_indices, **sepvit_mode),
        'Swin-T': lambda: SwinTransformer(
            'tiny', out_indices=out_indices, pad_small_map=dense),
        'Twins-SVT-S': lambda: SVT('small', out_indices=out_indices),
    }


@torch.no_grad()
def throughput(models, batch, iters, warmup):
    """Median images/s of each model over interleaved rounds."""
    for model in models.values():
        for _ in range(warmup):
            model(batch)
    times = {name: [] for name in models}
    for _ in range(iters):
        for name, model in models.items():
            start = time.perf_counter()
            model(batch)
            if batch.is_cuda:
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {
        name: batch.size(0) / statistics.median(ts)
        for name, ts in times.items()
    }


def run(title, dense, size, batch_size, args):
    models = {
        name: build().to(args.device)
        for name, build in candidates(dense).items()
    }
    for model in models.values():
        model.eval()  # some mmpretrain backbones' train() returns None
    batch = torch.rand(batch_size, 3, size, size, device=args.device)
    results = throughput(models, batch, args.iters, args.warmup)
    print(f'\n{title}: {size}x{size}, batch {batch_size}, {args.device}, '
          f'{torch.get_num_threads()} threads, median of {args.iters}')
    print(f'{"backbone":<14}{"img/s":>10}{"vs Swin-T":>12}')
    for name, value in results.items():
        print(f'{name:<14}{value:>10.2f}{value / results["Swin-T"]:>11.2f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--dense-batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--skip-dense', action='store_true', help='only the 224x224 run')
    args = parser.parse_args()
    run('Classification backbones', False, 224, args.batch_size, args)
    if not args.skip_dense:
        run('Dense backbones', True, 512, args.dense_batch_size, args)


if __name__ == '__main__':
    main()
