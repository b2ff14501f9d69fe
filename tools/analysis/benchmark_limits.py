# Copyright (c) mmsepvit contributors. All rights reserved.
"""How close SepViT-T, Swin-T and Twins-SVT-S come to the machine's matrix
units, in float32 and mixed precision, eager and compiled, measured side by
side in one run (CPU by default; CUDA as it is).

    python tools/analysis/benchmark_limits.py [--dtypes fp32 bf16]
        [--modes eager compiled] [--sizes 224 512] [--batch-size 16]
        [--dense-batch-size 2] [--train-batch-size 8] [--iters 10]
        [--device cpu] [--csv FILE] [--ffn-variants]

For each input size (224: classification settings; 512: dense settings,
four output stages) and autocast dtype:

- inference: batch-1 median latency and throughput at the batch size;
- the ceiling: one 2048x2048 product, timed in the same interleaved
  rounds as the models (its row gives its rate), and the matrix products the
  model runs (recorded from its own forward pass: linear layers, attention
  products, dense convolutions) timed alone on random operands. ``matmul``
  = their time / the model's time: 100 % would be a model that is nothing
  but its products; ``GMAC/s`` = the model's products' multiply-accumulates
  per second of the model, and its share of the square product's rate;
- training (eager): forward + backward img/s, and the same columns for the
  step's products (forward and backward, recorded from the step); ``limit``:
  the img/s the step would reach if all its products ran at the square
  product's rate and nothing else took time (``vs``: that bound against
  Swin-T's measured step); the activation memory (bytes autograd keeps for
  the backward pass; also the peak allocated on CUDA).

Each block ends with the computation SepViT's attention ran (``fused`` or
``products``, see ``mmsepvit.models.utils.separable_attention.attention``);
the CSV has it in SepViT-T's rows.

Every row also gives its ratio to Swin-T in the same settings. Compiled
rows use ``torch.compile`` (Inductor); its compile time is printed. On a
small CPU, Inductor can take many minutes per model and size.
"""
import argparse
import time
from functools import partial

import torch
from benchmarking import (BASELINE, DTYPES, ActivationMeter, add_timing_args,
                          comparison_backbones, describe_machine, matmul_macs,
                          median, ratio, record_matmuls, square_product,
                          time_matmuls, timed_rounds, write_csv)

from mmsepvit.cli import at_least, run
from mmsepvit.models.utils.separable_attention import attention_path

SQUARE = 2048
CEILING = f'{SQUARE}² product'
# Twins-SVT-S's first stage sub-samples its keys with an 8x8 convolution
# of its map (size / 4, rounded up).
MIN_SIZE = 29


def autocast(device, dtype):
    return torch.autocast(
        device.type, dtype=dtype, enabled=dtype != torch.float32)


def infer(model, batch, dtype):
    with torch.inference_mode(), autocast(batch.device, dtype):
        return model(batch)


def train_step(model, batch, dtype):
    with autocast(batch.device, dtype):
        outputs = model(batch)
    sum(out.float().mean() for out in outputs).backward()
    model.zero_grad(set_to_none=True)


def median_seconds(models, step, batch, dtype, args, with_ceiling=False):
    """Median seconds of ``step(model, batch, dtype)`` per model, rounds
    interleaved; ``with_ceiling``: also of the square product under
    ``CEILING``, timed in the same rounds so that machine noise hits it as it
    hits the models."""
    calls = {
        name: partial(step, model, batch, dtype)
        for name, model in models.items()
    }
    if with_ceiling:
        calls[CEILING] = square_product(SQUARE, dtype, batch.device)
    times = timed_rounds(calls, args.iters, args.warmup, batch.device)
    return {name: median(ts) for name, ts in times.items()}


def pop_ceiling_rate(seconds):
    """Multiply-accumulates per second of the square product, taken out of
    ``median_seconds(..., with_ceiling=True)``'s result."""
    return SQUARE**3 / seconds.pop(CEILING)


def products_columns(call, seconds, square_rate, args):
    """``matmul``, ``GMAC/s`` and ``of sq.`` for a model's ``call()`` that
    took ``seconds``; also the seconds its products would take at the square
    product's rate."""
    matmuls = record_matmuls(call)
    alone = time_matmuls(matmuls, torch.device(args.device), args.iters,
                         args.warmup)
    macs = matmul_macs(matmuls)
    gmacs = macs / seconds / 1e9
    columns = dict(
        matmul=f'{alone / seconds:.0%}',
        gmac_per_s=f'{gmacs:.1f}',
        of_square=f'{gmacs * 1e9 / square_rate:.0%}')
    return columns, macs / square_rate


def products_text(columns):
    return (f'{columns["matmul"]:>10}{columns["gmac_per_s"]:>9}'
            f'{columns["of_square"]:>9}')


def print_ceiling(square_rate):
    print(f'  ({CEILING}, same rounds: {square_rate / 1e9:.1f} GMAC/s)')


def inference_rows(models, size, batch_size, dtype_name, mode, args,
                   records):
    device, dtype = torch.device(args.device), DTYPES[dtype_name]
    single = torch.rand(1, 3, size, size, device=device)
    batch = torch.rand(batch_size, 3, size, size, device=device)
    calls = {}
    for name, model in models.items():
        if mode == 'compiled':
            start = time.perf_counter()
            model = torch.compile(model)
            infer(model, single, dtype)
            infer(model, batch, dtype)
            print(f'  compiled {name} ({dtype_name}) in '
                  f'{time.perf_counter() - start:.0f} s')
        calls[name] = model
    latency = median_seconds(calls, infer, single, dtype, args)
    seconds = median_seconds(
        calls, infer, batch, dtype, args, with_ceiling=True)
    square_rate = pop_ceiling_rate(seconds)
    rate = {name: batch_size / s for name, s in seconds.items()}
    attention = sepvit_attention_path(device, dtype, training=False)
    for name, model in models.items():
        products, _ = products_columns(
            partial(infer, model, batch, dtype), seconds[name], square_rate,
            args)
        row = dict(
            step='inference',
            size=size,
            batch=batch_size,
            backbone=name,
            dtype=dtype_name,
            mode=mode,
            b1_ms=f'{latency[name] * 1e3:.1f}',
            b1_vs_swin=ratio(latency, name, BASELINE),
            img_per_s=f'{rate[name]:.2f}',
            img_per_s_vs_swin=ratio(rate, name, BASELINE),
            **products,
            square_gmac_per_s=f'{square_rate / 1e9:.1f}',
            attention=attention if name == 'SepViT-T' else '')
        print(f'{name:<13}{dtype_name:<6}{mode:<10}{row["b1_ms"]:>9}'
              f'{row["b1_vs_swin"]:>8}{row["img_per_s"]:>10}'
              f'{row["img_per_s_vs_swin"]:>8}{products_text(products)}')
        records.append(row)
    print_ceiling(square_rate)
    print(f'  (SepViT attention: {attention})')


def sepvit_attention_path(device, dtype, training):
    """The computation SepViT's attention runs in ``dtype`` on ``device``,
    in a training step or in inference."""
    probe = torch.zeros(1, 1, 1, 1, device=device, requires_grad=training)
    with torch.set_grad_enabled(training), autocast(device, dtype):
        return attention_path(probe, probe, probe)


def training_rows(models, size, batch_size, dtype_name, args, records):
    device, dtype = torch.device(args.device), DTYPES[dtype_name]
    batch = torch.rand(batch_size, 3, size, size, device=device)
    for model in models.values():
        model.train()
    seconds = median_seconds(
        models, train_step, batch, dtype, args, with_ceiling=True)
    square_rate = pop_ceiling_rate(seconds)
    rate = {name: batch_size / s for name, s in seconds.items()}
    memory, peak = {}, {}
    for name, model in models.items():
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
        with ActivationMeter(model) as meter:
            train_step(model, batch, dtype)
        memory[name] = meter.bytes / 2**20
        if device.type == 'cuda':
            peak[name] = (torch.cuda.max_memory_allocated(device) -
                          before) / 2**20
    attention = sepvit_attention_path(device, dtype, training=True)
    for name, model in models.items():
        products, seconds_at_ceiling = products_columns(
            partial(train_step, model, batch, dtype), seconds[name],
            square_rate, args)
        limit = batch_size / seconds_at_ceiling
        row = dict(
            step='training',
            size=size,
            batch=batch_size,
            backbone=name,
            dtype=dtype_name,
            mode='eager',
            img_per_s=f'{rate[name]:.2f}',
            img_per_s_vs_swin=ratio(rate, name, BASELINE),
            **products,
            square_gmac_per_s=f'{square_rate / 1e9:.1f}',
            limit_img_per_s=f'{limit:.2f}',
            limit_vs_swin=(f'{limit / rate[BASELINE]:.2f}x'
                           if BASELINE in rate else ''),
            activation_mib=f'{memory[name]:.0f}',
            activation_vs_swin=ratio(memory, name, BASELINE),
            cuda_peak_mib=f'{peak[name]:.0f}' if peak else '',
            attention=attention if name == 'SepViT-T' else '')
        print(f'{name:<13}{dtype_name:<6}{row["img_per_s"]:>10}'
              f'{row["img_per_s_vs_swin"]:>8}{products_text(products)}'
              f'{row["limit_img_per_s"]:>10}{row["limit_vs_swin"]:>8}'
              f'{row["activation_mib"]:>14}{row["activation_vs_swin"]:>8}'
              f'{row["cuda_peak_mib"]:>10}')
        records.append(row)
    print_ceiling(square_rate)
    print(f'  (SepViT attention: {attention})')
    for model in models.values():
        model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--dtypes',
        nargs='+',
        choices=sorted(DTYPES),
        default=['fp32', 'bf16'])
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=['eager', 'compiled'],
        default=['eager', 'compiled'])
    parser.add_argument(
        '--sizes',
        nargs='+',
        type=at_least(MIN_SIZE),
        default=[224, 512],
        help='input sides: 224 in classification settings, others dense')
    add_timing_args(parser)
    parser.add_argument(
        '--train-batch-size',
        type=at_least(1),
        default=8,
        help='batch of the 224x224 training step (dense: '
        '--dense-batch-size)')
    parser.add_argument('--no-train', action='store_true')
    parser.add_argument(
        '--ffn-variants',
        action='store_true',
        help='also SepViT-T with mmcv\'s plain FFN, and with it and '
        'with_cp=True (what the GELU-recomputing FFN is measured against)')
    parser.add_argument('--csv', help='also write the rows to this CSV file')
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == 'cpu' and 'fp16' in args.dtypes:
        parser.error('CPU autocast runs bfloat16, not float16.')

    print(f'{device}: {describe_machine(device)}, {args.iters} '
          f'interleaved rounds')
    records = []

    for size in args.sizes:
        dense = size != 224
        torch.manual_seed(0)
        models = {
            name: build().to(device)
            for name, build in comparison_backbones(
                dense, args.ffn_variants).items()
        }
        for model in models.values():
            model.eval()  # some mmpretrain backbones' train() returns None
        batch_size = args.dense_batch_size if dense else args.batch_size
        print(f'\n{size}x{size} ({"dense" if dense else "classification"}'
              f'), inference: b1 latency, b{batch_size} throughput')
        print(f'{"backbone":<13}{"dtype":<6}{"mode":<10}{"b1 ms":>9}'
              f'{"vs":>8}{"img/s":>10}{"vs":>8}{"matmul":>10}'
              f'{"GMAC/s":>9}{"of sq.":>9}')
        for dtype_name in args.dtypes:
            for mode in args.modes:
                inference_rows(models, size, batch_size, dtype_name, mode,
                               args, records)
        if args.no_train:
            continue
        train_batch = args.dense_batch_size if dense else \
            args.train_batch_size
        print(f'{size}x{size} training step (forward + backward), batch '
              f'{train_batch}')
        print(f'{"backbone":<13}{"dtype":<6}{"img/s":>10}{"vs":>8}'
              f'{"matmul":>10}{"GMAC/s":>9}{"of sq.":>9}{"limit":>10}{"vs":>8}'
              f'{"activ. MiB":>14}{"vs":>8}'
              f'{"peak MiB" if device.type == "cuda" else "":>10}')
        for dtype_name in args.dtypes:
            training_rows(models, size, train_batch, dtype_name, args,
                          records)
    if args.csv:
        machine = describe_machine(device)
        write_csv(args.csv, [dict(machine=machine, **r) for r in records])


if __name__ == '__main__':
    run(main)
