# Copyright (c) mmsepvit contributors. All rights reserved.
"""Speed of SepViT-T against mmpretrain's Swin-T and Twins-SVT-S, measured
side by side in one run, in PyTorch and in onnxruntime (CPU by default).

    python tools/analysis/benchmark_backbones.py
        [--backend pytorch onnxruntime onnxruntime-fused onnxruntime-int8]
        [--batch-size 16]
        [--dense-batch-size 2] [--iters 10] [--device cpu] [--csv FILE]

For each backbone, at 224x224 (classification settings) and at 512x512
(dense settings: four output stages): the batch-1 latency (median and 90th
percentile) and the throughput at the larger batch, with each one's ratio to
Swin-T in the same backend and to its own PyTorch throughput. The
onnxruntime models are exported first (one static graph per batch size;
``onnxruntime-int8``: fused, with int8 weights in the linear layers) with
mmsepvit's exporter; a backbone that does not export is
reported, not skipped silently. Rounds are interleaved over the models and
the backends so that machine noise hits all alike.
"""
import argparse
import os.path as osp
import tempfile
import time
import traceback

from functools import partial

import torch
from benchmarking import (BASELINE, ONNXRUNTIME_BACKENDS, add_timing_args,
                          comparison_backbones, describe_machine, median,
                          onnxruntime_call, percentile, ratio,
                          timed_rounds, write_csv)

from mmsepvit.cli import run


def onnx_calls(models, batch, onnx_dir, backend):
    """Export every model for ``batch``'s shape as onnxruntime ``backend``
    wants it and return callables running the graphs on ``batch``; models
    that fail to export are printed and left out.

    Static graphs, one per batch size: mmpretrain's Swin-T fixes the batch
    size while tracing, so a graph with a dynamic batch is not possible for
    it.
    """
    calls = {}
    shape = 'x'.join(map(str, batch.shape))
    for name, model in models.items():
        onnx_file = osp.join(onnx_dir, f'{name}_{shape}_{backend}.onnx')
        start = time.perf_counter()
        try:
            calls[name] = onnxruntime_call(model, batch, onnx_file, backend)
        except Exception:  # a finding to report, whatever it is
            print(f'{name} does not export at {shape}:\n'
                  f'{traceback.format_exc(limit=-3)}')
            continue
        print(f'exported {name} at {shape} in '
              f'{time.perf_counter() - start:.0f} s, '
              f'{osp.getsize(onnx_file) / 2**20:.0f} MiB')
    return calls


def runners(models, backend, batch, onnx_dir):
    """Callables running each model on ``batch`` in ``backend``."""
    if backend in ONNXRUNTIME_BACKENDS:
        return onnx_calls(models, batch, onnx_dir, backend)
    return {name: partial(model, batch) for name, model in models.items()}


@torch.inference_mode()
def timings(models, backends, batch, iters, warmup, onnx_dir):
    """Seconds per call of each ``(model, backend)``, every backend in the
    same interleaved rounds: the ratios between backends see the same
    machine."""
    calls = {(name, backend): call
             for backend in backends
             for name, call in runners(models, backend, batch,
                                       onnx_dir).items()}
    return timed_rounds(calls, iters, warmup, batch.device)


def run_table(title, dense, size, batch_size, args, onnx_dir):
    torch.manual_seed(0)
    models = {
        name: build().to(args.device)
        for name, build in comparison_backbones(dense).items()
    }
    for model in models.values():
        model.eval()  # some mmpretrain backbones' train() returns None

    def timed(size_batch):
        batch = torch.rand(size_batch, 3, size, size, device=args.device)
        return timings(models, args.backend, batch, args.iters, args.warmup,
                       onnx_dir)

    single = timed(1)
    # At batch size 1 the same graphs and rounds give both columns.
    batched = single if batch_size == 1 else timed(batch_size)
    latency = {key: median(ts) for key, ts in single.items()}
    rate = {key: batch_size / median(ts) for key, ts in batched.items()}
    print(f'\n{title}: {size}x{size}, {args.device}: '
          f'{describe_machine(torch.device(args.device))}, {args.iters} '
          f'rounds, backends interleaved')
    print(f'{"backbone":<13}{"backend":<18}{"b1 median ms":>13}'
          f'{"b1 p90 ms":>11}{f"b{batch_size} img/s":>12}'
          f'{"latency vs " + BASELINE:>19}{"img/s vs " + BASELINE:>17}'
          f'{"img/s vs pytorch":>18}')
    rows = []
    for name, backend in [key for key in single if key in batched]:
        key = (name, backend)
        row = dict(
            machine=describe_machine(torch.device(args.device)),
            size=size,
            backbone=name,
            backend=backend,
            b1_median_ms=f'{latency[key] * 1e3:.1f}',
            b1_p90_ms=f'{percentile(single[key], 0.9) * 1e3:.1f}',
            batch=batch_size,
            img_per_s=f'{rate[key]:.2f}',
            latency_vs_swin=ratio(latency, key, (BASELINE, backend)),
            img_per_s_vs_swin=ratio(rate, key, (BASELINE, backend)),
            img_per_s_vs_pytorch=ratio(rate, key, (name, 'pytorch')))
        print(f'{name:<13}{backend:<18}{row["b1_median_ms"]:>13}'
              f'{row["b1_p90_ms"]:>11}{row["img_per_s"]:>12}'
              f'{row["latency_vs_swin"]:>19}{row["img_per_s_vs_swin"]:>17}'
              f'{row["img_per_s_vs_pytorch"]:>18}')
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--backend',
        nargs='+',
        choices=['pytorch', *ONNXRUNTIME_BACKENDS],
        default=['pytorch', *ONNXRUNTIME_BACKENDS])
    add_timing_args(parser)
    parser.add_argument(
        '--skip-dense', action='store_true', help='only the 224x224 run')
    parser.add_argument('--csv', help='also write the rows to this CSV file')
    args = parser.parse_args()
    if set(ONNXRUNTIME_BACKENDS) & set(args.backend) and (
            args.device != 'cpu'):
        parser.error('--backend onnxruntime runs on the CPU here; use '
                     '--device cpu.')
    with tempfile.TemporaryDirectory() as onnx_dir:
        rows = run_table('Classification backbones', False, 224,
                         args.batch_size, args, onnx_dir)
        if not args.skip_dense:
            rows += run_table('Dense backbones', True, 512,
                              args.dense_batch_size, args, onnx_dir)
    if args.csv:
        write_csv(args.csv, rows)


if __name__ == '__main__':
    run(main)
