# Copyright (c) mmsepvit contributors. All rights reserved.
"""What the benchmark tools of this folder share (they import it as a sibling
module; it is no part of the mmsepvit package): their timing options and
dtypes, interleaved timing rounds, the machine line, the matrix products a
model runs (to time them alone: the machine's ceiling for that model), the
activations a training step keeps for its backward pass, onnxruntime calls
of an exported graph, the Pareto front, its plot and the CSV rows."""
import argparse
import csv
import os
import os.path as osp
import statistics
import time
from functools import partial
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmsepvit.cli import at_least, available_device
from mmsepvit.utils.cpu_features import cpu_flags, cpu_name

aten = torch.ops.aten

# Interleaved rounds cycle through every model. With more kernels than
# oneDNN's primitive cache holds (1024 by default), each model's first call
# of a round re-creates what the other models evicted (six segmentors timed
# together: 10-40 ms more a call of a 45-110 ms model), a cost that a process
# serving one model never pays. oneDNN reads the capacity when it first
# creates a kernel, so it is set before any model runs.
os.environ.setdefault('ONEDNN_PRIMITIVE_CACHE_CAPACITY', '16384')

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)
# What SepViT-T is compared with: ratios are given to it.
BASELINE = 'Swin-T'
# The benchmarks' onnxruntime backends: how the graph is exported, with
# onnxruntime's fusions (``pytorch2onnx.py --onnxruntime-fusions``) and with
# int8 weights in the linear layers (``--int8``).
ONNXRUNTIME_BACKENDS = {
    'onnxruntime':
    dict(onnxruntime_fusions=False, int8_linear_weights=False),
    'onnxruntime-fused':
    dict(onnxruntime_fusions=True, int8_linear_weights=False),
    'onnxruntime-int8':
    dict(onnxruntime_fusions=True, int8_linear_weights=True),
}


def comparison_backbones(
        dense: bool,
        ffn_variants: bool = False) -> Dict[str, Callable[[], nn.Module]]:
    """Builders of SepViT-T, mmpretrain's Swin-T and Twins-SVT-S, in
    classification settings (last stage out) or dense ones (four stages);
    with ``ffn_variants`` also SepViT-T with mmcv's plain FFN
    (``SepViT-T FFN``, no GELU recomputation) and with that FFN and
    ``with_cp=True`` (``SepViT-T cp``)."""
    from mmpretrain.models import SVT, SwinTransformer

    from mmsepvit.models import SepViT
    out_indices = (0, 1, 2, 3) if dense else (3, )
    sepvit_mode = {} if dense else dict(
        window_token='per_window',
        single_window_pwa=False,
        stage_norms='outputs')

    def sepvit(recompute_gelu=True, **kwargs):
        model = SepViT(
            'tiny', out_indices=out_indices, **sepvit_mode, **kwargs)
        for stage in model.stages:
            for block in stage.blocks:
                block.ffn.recompute_gelu &= recompute_gelu
        return model

    builders = {
        'SepViT-T': sepvit,
        BASELINE: lambda: SwinTransformer(
            'tiny', out_indices=out_indices, pad_small_map=dense),
        'Twins-SVT-S': lambda: SVT('small', out_indices=out_indices),
    }
    if ffn_variants:
        builders['SepViT-T FFN'] = partial(sepvit, recompute_gelu=False)
        builders['SepViT-T cp'] = partial(
            sepvit, recompute_gelu=False, with_cp=True)
    return builders


def describe_machine(device: torch.device) -> str:
    """What a figure was measured on, to print beside it: the GPU, or the
    processor, its threads and whether it has the two features the speed
    of bf16 depends on, bf16 instructions (AVX-512 BF16) and bf16 matrix
    units (AMX)."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    flags = cpu_flags()
    features = ', '.join(
        f'{name}: {"yes" if flag in flags else "no"}'
        for name, flag in (('AVX-512 BF16', 'avx512_bf16'), ('AMX',
                                                             'amx_bf16')))
    return (f'{cpu_name()}, {torch.get_num_threads()} threads '
            f'({features})')


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed_rounds(calls: Dict[str, Callable[[], object]],
                 iters: int,
                 warmup: int,
                 device: torch.device) -> Dict[str, List[float]]:
    """Seconds per call of each callable, rounds interleaved so that machine
    noise hits all alike.

    onnxruntime sessions should come from
    :func:`mmsepvit.deployment.inference_session`, whose threads stop when
    a run returns: by default they spin on and slow the next call.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    synchronize(device)
    times = {name: [] for name in calls}
    for _ in range(iters):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def ratio(values: Dict, key, reference) -> str:
    """``values[key] / values[reference]`` as ``'1.23x'``; blank if the
    reference was not measured (it did not export, or was not asked for)."""
    if reference not in values:
        return ''
    return f'{values[key] / values[reference]:.2f}x'


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: List[float]) -> float:
    return statistics.median(values)


# A matrix product as (batch, m, k, n, dtype): batch x (m x k) @ (k x n).
MatMul = Tuple[int, int, int, int, torch.dtype]


def _groups(packet, args) -> int:
    if packet is aten.convolution:
        return args[8]
    return args[6] if len(args) > 6 else 1  # aten.conv2d


class _MatMulRecorder(TorchDispatchMode):
    """Records the shapes of the matrix products an operation runs: linear
    layers, batched products, dense convolutions (as im2col products) and
    fused attention, in the forward pass and in the backward pass. Under
    ``inference_mode`` the composite operators arrive whole, otherwise
    decomposed: both count."""

    def __init__(self):
        super().__init__()
        self.matmuls: List[MatMul] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func.overloadpacket
        out = func(*args, **kwargs)
        if packet is aten.linear:
            x, weight = args[:2]
            self.matmuls.append((1, x.numel() // x.shape[-1], x.shape[-1],
                                 weight.shape[0], x.dtype))
        elif packet in (aten.mm, aten.addmm):
            a, b = args[-2:]
            self.matmuls.append((1, a.shape[0], a.shape[1], b.shape[1],
                                 a.dtype))
        elif packet in (aten.bmm, aten.baddbmm):
            a, b = args[-2:]
            self.matmuls.append((a.shape[0], a.shape[1], a.shape[2],
                                 b.shape[2], a.dtype))
        elif packet in (aten.convolution, aten.conv2d) and _groups(
                packet, args) == 1:
            x, weight = args[:2]
            self.matmuls.append(
                (1, out.shape[0] * out.shape[2:].numel(), weight[0].numel(),
                 weight.shape[0], x.dtype))
        elif packet is aten.convolution_backward and args[9] == 1:
            self._convolution_backward(*args[:3], output_mask=args[10])
        elif 'scaled_dot_product' in packet.__name__:
            if packet.__name__.endswith('_backward'):
                self._attention_backward(*args[1:4])
            else:
                self._attention(*args[:3])
        return out

    def _convolution_backward(self, grad_out, x, weight, output_mask):
        # Both gradients are products of the forward's size: grad_out with
        # the weight (input gradient), grad_out with im2col(x) (weight's).
        pixels = grad_out.shape[0] * grad_out.shape[2:].numel()
        patch = weight[0].numel()
        if output_mask[0]:
            self.matmuls.append(
                (1, pixels, weight.shape[0], patch, x.dtype))
        if output_mask[1]:
            self.matmuls.append(
                (1, weight.shape[0], pixels, patch, x.dtype))

    def _attention(self, q, k, v):
        heads = q.shape[:-2].numel()
        queries, keys = q.shape[-2], k.shape[-2]
        self.matmuls.append((heads, queries, q.shape[-1], keys, q.dtype))
        self.matmuls.append((heads, queries, keys, v.shape[-1], v.dtype))

    def _attention_backward(self, q, k, v):
        # Fused kernels recompute the scores (q k^T), then form the
        # gradients of the probabilities, v, q and k: five products.
        heads = q.shape[:-2].numel()
        queries, keys, dim = q.shape[-2], k.shape[-2], q.shape[-1]
        value_dim = v.shape[-1]
        self.matmuls += [
            (heads, queries, dim, keys, q.dtype),
            (heads, queries, value_dim, keys, q.dtype),
            (heads, keys, queries, value_dim, q.dtype),
            (heads, queries, keys, dim, q.dtype),
            (heads, keys, queries, dim, q.dtype),
        ]


def record_matmuls(call: Callable[[], object]) -> List[MatMul]:
    """The matrix products ``call()`` runs, as :data:`MatMul` tuples (with
    the dtypes autocast gave them)."""
    with _MatMulRecorder() as recorder:
        call()
    return recorder.matmuls


def matmul_macs(matmuls: List[MatMul]) -> int:
    return sum(b * m * k * n for b, m, k, n, _ in matmuls)


def time_matmuls(matmuls: List[MatMul], device: torch.device, iters: int,
                 warmup: int) -> float:
    """Median seconds to run ``matmuls`` alone, one after another, on fresh
    random operands: the time a model with these products cannot beat."""
    operands = [(torch.randn(b, m, k, device=device, dtype=dtype),
                 torch.randn(b, k, n, device=device, dtype=dtype))
                for b, m, k, n, dtype in matmuls]

    def run():
        for a, b in operands:
            torch.bmm(a, b)

    return median(timed_rounds({'': run}, iters, warmup, device)[''])


def square_product(size: int, dtype: torch.dtype,
                   device: torch.device) -> Callable[[], torch.Tensor]:
    """One ``size`` x ``size`` product on fixed random operands: the
    machine's ceiling for products, to be timed next to a model."""
    a, b = (torch.randn(size, size, device=device, dtype=dtype)
            for _ in range(2))
    return partial(torch.mm, a, b)


class ActivationMeter:
    """Bytes of the tensors autograd keeps for the backward pass (each
    storage once, parameters left out): a training step's activation
    memory, on any device."""

    def __init__(self, model: nn.Module):
        self.parameters = {
            p.untyped_storage().data_ptr()
            for p in model.parameters()
        }
        self.storages: Dict[int, int] = {}

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in self.parameters:
            self.storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    def __enter__(self):
        self.hooks = torch.autograd.graph.saved_tensors_hooks(
            self._pack, lambda tensor: tensor)
        self.hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self.hooks.__exit__(*exc)

    @property
    def bytes(self) -> int:
        return sum(self.storages.values())


def onnxruntime_call(module: nn.Module, batch: torch.Tensor, path: str,
                     backend: str) -> Callable[[], object]:
    """Export ``module`` for ``batch``'s shape to ``path`` as onnxruntime
    ``backend`` wants it (:data:`ONNXRUNTIME_BACKENDS`) and return a call
    running the graph on ``batch`` in a CPU session with PyTorch's number
    of threads, so that both backends use the same cores."""
    from mmsepvit.deployment import export_module, inference_session
    from mmsepvit.deployment.onnx_export import INPUT_NAME
    export_module(module, batch, path, **ONNXRUNTIME_BACKENDS[backend])
    session = inference_session(
        path, ['CPUExecutionProvider'], num_threads=torch.get_num_threads())
    feed = {INPUT_NAME: batch.cpu().numpy()}
    return lambda: session.run(None, feed)


def write_csv(filename: str, rows: Sequence[dict]) -> None:
    """The rows a benchmark printed, one dict each, as a CSV file whose
    columns are the keys in their first appearance's order."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    with open(filename, 'w', newline='') as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    print(f'\nWrote {len(rows)} rows to {filename}')


def add_timing_args(parser: argparse.ArgumentParser,
                    iters: int = 10,
                    warmup: int = 2,
                    dense: bool = True,
                    batch: Tuple[int, str] = (
                        16, 'batch of the 224x224 throughput rows')) -> None:
    """``--batch-size``, ``--dense-batch-size`` (if ``dense``), ``--iters``,
    ``--warmup``, ``--device``: what the benchmark tools share, with their
    defaults for ``--iters``, ``--warmup`` and ``--batch-size`` (default and
    help)."""
    parser.add_argument(
        '--batch-size', type=at_least(1), default=batch[0], help=batch[1])
    if dense:
        parser.add_argument(
            '--dense-batch-size',
            type=at_least(1),
            default=2,
            help='batch of the dense throughput rows')
    parser.add_argument(
        '--iters', type=at_least(1), default=iters, help='timed rounds')
    parser.add_argument(
        '--warmup',
        type=at_least(0),
        default=warmup,
        help='untimed rounds first')
    parser.add_argument(
        '--device',
        type=available_device,
        default='cpu',
        help='cpu or cuda[:N]')


def pareto_front(latencies: Sequence[float],
                 top1s: Sequence[float]) -> List[bool]:
    """For each point, whether no other point is both faster (lower latency)
    and more accurate, or as good in one and better in the other."""
    points = list(zip(latencies, top1s))
    return [
        not any((l2 <= l1 and a2 >= a1) and (l2 < l1 or a2 > a1)
                for l2, a2 in points) for l1, a1 in points
    ]


def mark_fronts(rows: Sequence[dict], metric: str) -> Dict[tuple, list]:
    """Set each row's ``on_front`` (:func:`pareto_front` of ``latency_ms``
    and ``metric``) within its panel, the rows of one (backend, dtype);
    the panels."""
    panels = {}
    for row in rows:
        panels.setdefault((row['backend'], row['dtype']), []).append(row)
    for panel in panels.values():
        front = pareto_front([r['latency_ms'] for r in panel],
                             [r[metric] for r in panel])
        for row, on_front in zip(panel, front):
            row['on_front'] = on_front
    return panels


def plot_fronts(panels: Dict[tuple, list], path: str, metric: str,
                axes_titles: Tuple[str, str], name: Callable[[dict], str],
                highlighted: Callable[[dict], bool],
                log_latency: bool = False) -> None:
    """Draw :func:`mark_fronts`' panels side by side to ``path``: each row's
    ``metric`` against its batch-1 latency (``latency_ms``), labelled with
    its ``name``, the Pareto front stepped, ``highlighted`` rows (SepViT) in
    red, rows off the front as crosses, the machine as title."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    fig, axes = plt.subplots(
        1, len(panels), figsize=(7 * len(panels), 6), squeeze=False)
    for ax, ((backend, dtype), rows) in zip(axes[0], sorted(panels.items())):
        front = sorted((r for r in rows if r['on_front']),
                       key=lambda r: r['latency_ms'])
        ax.step([r['latency_ms'] for r in front], [r[metric] for r in front],
                where='post', color='0.6', zorder=1, label='Pareto front')
        for row in rows:
            red = highlighted(row)
            point = (row['latency_ms'], row[metric])
            ax.scatter(*point, color='tab:red' if red else 'tab:blue',
                       marker='o' if row['on_front'] else 'x',
                       s=60 if red else 30, zorder=2)
            ax.annotate(name(row), point, fontsize=7,
                        xytext=(3, 3), textcoords='offset points')
        if log_latency:
            ax.set_xscale('log')
            ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
            ax.xaxis.set_minor_formatter(ticker.ScalarFormatter())
            ax.tick_params(axis='x', which='minor', labelsize=7)
        ax.set(xlabel=axes_titles[0], ylabel=axes_titles[1],
               title=f'{backend} {dtype}')
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right')
    fig.suptitle(f'{rows[0]["machine"]}; red: SepViT', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
