# Copyright (c) mmsepvit contributors. All rights reserved.
"""Is SepViT worth it on this machine? ImageNet accuracy against speed for
SepViT and the model zoo, per backend and dtype.

    python tools/analysis/benchmark_frontier.py [--models NAME ...]
        [--backends pytorch compiled onnxruntime onnxruntime-fused
                    onnxruntime-int8]
        [--dtypes fp32 bf16 fp16]
        [--device cpu|cuda] [--batch-size 16] [--iters 5]
        [--interleave-models N] [--out DIR]

For every model x backend x dtype it times the whole classifier (random
weights: speed does not depend on them) at its test size: batch-1 latency
(median and 90th percentile of ``--iters`` rounds) and batch-N throughput.
Accuracy is the ImageNet-1k top-1 of the model's metafile: mmpretrain's
for its models, the SepViT authors' reported figures for SepViT (no SepViT
weights exist to reproduce them). Writes ``DIR/frontier.csv`` and
``DIR/frontier.png`` (top-1 against latency, one panel per backend and
dtype, the Pareto front drawn, SepViT in red) and prints the table.

Models: names of mmsepvit's model index or mmpretrain's zoo
(``mmpretrain.list_models()``). Default: SepViT Lite/T/S/B and mmpretrain's
224x224 ImageNet-1k models between 1 and 20 GFLOPs of the Swin, Twins,
PVTv2, ConvNeXt, DeiT, EfficientFormer, PoolFormer, MobileViT and
EfficientNet families, one checkpoint per network. A model's backends and
dtypes are timed in the same interleaved rounds, so the ratios between them
are fair. Models are timed one after the other, so a busy machine shifts
their figures unevenly, unless ``--interleave-models N`` times them in
groups of N neighbours in FLOPs, each group in the same rounds (a group's
models and graphs are in memory at once: all 30 of the default set in
PyTorch and onnxruntime-int8 took more than 24 GB).

Backends: ``pytorch`` (eager; bf16 / fp16 under autocast), ``compiled``
(``torch.compile`` with Inductor and weight freezing, whose compile time is
printed; minutes per model on a small CPU), ``onnxruntime`` (fp32 only:
a static graph per batch size, CPU provider), ``onnxruntime-fused`` (the
same graph with onnxruntime's transformer fusions, as
``pytorch2onnx.py --onnxruntime-fusions`` writes it) and
``onnxruntime-int8`` (the fused graph with int8 weights in its linear
layers, ``--onnxruntime-fusions --int8``; fp32 input).
"""
import argparse
import csv
import difflib
import os
import os.path as osp
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from benchmarking import (DTYPES, ONNXRUNTIME_BACKENDS, add_timing_args,
                          describe_machine, mark_fronts, median,
                          onnxruntime_call, percentile, plot_fronts,
                          timed_rounds)
from mmengine.config import Config

from mmsepvit.apis import load_model_index
from mmsepvit.apis.model_index import UnknownModelError
from mmsepvit.cli import OptionError, at_least, run
from mmsepvit.hosts import HOSTS
from mmsepvit.utils import UnusableInputError

BACKENDS = ('pytorch', 'compiled', *ONNXRUNTIME_BACKENDS)
IMAGENET = 'ImageNet-1k'
TASK = HOSTS['mmpretrain'].task
# The default comparison: mmpretrain's ImageNet-1k models of these families
# at 224x224 between 1 and 20 GFLOPs, one checkpoint per network.
FAMILIES = ('Swin-Transformer', 'Twins', 'PVTv2', 'ConvNeXt', 'DeiT',
            'EfficientFormer', 'PoolFormer', 'MobileViT', 'EfficientNet')
DEFAULT_SIZE = 224
DEFAULT_FLOPS = (1e9, 20e9)
OURS = 'reported by the authors, not reproduced here'


@dataclass(frozen=True)
class ZooModel:
    """A classifier of a model zoo and what its metafile reports.

    Args:
        name (str): Its model name.
        family (str): Its collection (``'SepViT'``, ``'Swin-Transformer'``).
        config (str): Its config file.
        top1 (float): Reported ImageNet-1k top-1 accuracy (%).
        flops (int): Reported multiply-accumulates of one image.
        params (int): Reported parameters.
        source (str): Where ``top1`` comes from.
    """
    name: str
    family: str
    config: str
    top1: float
    flops: int
    params: int
    source: str

    @property
    def is_sepvit(self) -> bool:
        return self.family == 'SepViT'


def _imagenet_top1(results) -> Optional[float]:
    for result in results or ():
        if result['Task'] == TASK and result['Dataset'] == IMAGENET:
            return result['Metrics'].get('Top 1 Accuracy')
    return None


def _mmsepvit_models() -> Dict[str, ZooModel]:
    models = {}
    for name, model in load_model_index().items():
        top1 = _imagenet_top1(model.get('Results'))
        if top1 is not None:
            models[name] = ZooModel(name, model['In Collection'],
                                    model['Config'], top1,
                                    model['Metadata']['FLOPs'],
                                    model['Metadata']['Parameters'], OURS)
    return models


def _mmpretrain_models() -> Dict[str, ZooModel]:
    # mmpretrain's model index, read with the modelindex library as
    # mmpretrain's ModelHub reads it (the hub's listing loads every config).
    import mmpretrain
    from modelindex.load_model_index import load
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim')
    index = load(osp.join(root, 'model-index.yml'))
    index.build_models_with_collections()
    models = {}
    for model in index.models:
        name = model.name.lower()
        model.config = model.config and osp.join(root, model.config)
        results = [
            dict(
                Task=r.task,
                Dataset=r.dataset,
                Metrics=r.metrics) for r in (model.results or ())
        ]
        top1 = _imagenet_top1(results)
        metadata = model.metadata
        if (top1 is None or metadata is None or not metadata.flops
                or not isinstance(model.config, str)):
            continue
        models.setdefault(
            name,
            ZooModel(name, model.in_collection, model.config, top1,
                     int(metadata.flops), int(metadata.parameters or 0),
                     'mmpretrain metafile'))
    return models


def zoo() -> Dict[str, ZooModel]:
    """Every ImageNet-1k classifier with a reported top-1: mmsepvit's
    model index, then mmpretrain's (its own names win nothing over ours)."""
    return {**_mmpretrain_models(), **_mmsepvit_models()}


def find_models(names: Sequence[str]) -> List[ZooModel]:
    """The zoo models of ``names``; :class:`UnknownModelError` naming the
    closest ones for a name that is not there."""
    models = zoo()
    for name in names:
        if name not in models:
            close = difflib.get_close_matches(name, models, n=3, cutoff=0.5)
            raise UnknownModelError(
                f'{name!r} is not an ImageNet-1k classifier of mmsepvit or '
                f'mmpretrain with a reported top-1' +
                (f'; did you mean {", ".join(close)}?' if close else '.'))
    return [models[name] for name in names]


def input_size(config: Config) -> int:
    """The side of the square a classifier's test pipeline crops (its
    ``CenterCrop``, ``EfficientNetCenterCrop``, ...), else resizes to."""
    pipeline = config.test_dataloader.dataset.pipeline
    for key in ('crop_size', 'scale'):
        for transform in pipeline:
            if key in transform:
                size = transform[key]
                return size if isinstance(size, int) else size[0]
    return DEFAULT_SIZE


def default_models() -> List[ZooModel]:
    """SepViT's ImageNet models, and per network of :data:`FAMILIES` the
    best-reported ImageNet-1k-only checkpoint at 224x224 between 1 and 20
    GFLOPs."""
    best = {}
    for model in zoo().values():
        if model.is_sepvit:
            best[model.name] = model
            continue
        if (model.family not in FAMILIES or 'in21k' in model.name
                or not DEFAULT_FLOPS[0] <= model.flops <= DEFAULT_FLOPS[1]):
            continue
        config = Config.fromfile(model.config)
        if input_size(config) != DEFAULT_SIZE:
            continue
        network = repr(config.model.to_dict())
        if network not in best or best[network].top1 < model.top1:
            best[network] = model
    return sorted(best.values(), key=lambda m: (m.family, m.flops))


COLUMNS = ('model', 'family', 'backend', 'dtype', 'device', 'machine',
           'size',
           'batch_size', 'params_M', 'GFLOPs', 'top1', 'top1_source',
           'latency_ms', 'latency_p90_ms', 'throughput_img_s', 'on_front')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--models',
        nargs='+',
        help='model names (default: SepViT and the zoo set above)')
    parser.add_argument(
        '--backends', nargs='+', choices=BACKENDS, default=['pytorch'])
    parser.add_argument(
        '--dtypes', nargs='+', choices=sorted(DTYPES), default=['fp32'])
    add_timing_args(parser, iters=5, warmup=1, dense=False)
    parser.add_argument(
        '--interleave-models',
        type=at_least(2),
        metavar='N',
        help='time the models in groups of N neighbours in FLOPs, each '
        'group in the same rounds, not one model after the other (fairer '
        'on a busy machine; a group\'s models and graphs are in memory at '
        'once)')
    parser.add_argument(
        '--out', default='work_dirs/frontier', help='where the CSV and PNG go')
    return parser.parse_args()


def build_classifier(config, device):
    """The classifier of a config with fresh weights, moved to ``device``
    before it is switched to eval mode: EfficientFormer computes its
    attention biases at ``eval()``, on the device of its weights."""
    from mmpretrain.apis import get_model
    return get_model(config, pretrained=False, device=device)


def pytorch_calls(classifier, inputs, dtype, device, compiled):
    """Callables running the classifier on each input batch."""
    forward = classifier.forward
    if compiled:
        import torch._inductor.config as inductor
        inductor.freezing = True  # fold weights into the graph: inference
        forward = torch.compile(forward)
    autocast = (
        torch.autocast(device.type, dtype=dtype)
        if dtype != torch.float32 else nullcontext())

    def call(batch):
        with torch.no_grad(), autocast:
            return forward(batch, mode='tensor')

    return {key: (lambda b=batch: call(b)) for key, batch in inputs.items()}


def onnxruntime_calls(classifier, inputs, onnx_dir, backend):
    """Callables running static ONNX exports of the classifier, one per
    input shape, as onnxruntime ``backend`` wants them."""
    from mmsepvit.deployment import deploy_graph
    graph, by_shape = deploy_graph(classifier), {}
    for batch in inputs.values():
        shape = 'x'.join(map(str, batch.shape))
        if shape not in by_shape:  # batch size 1: one graph for both
            by_shape[shape] = onnxruntime_call(
                graph, batch, osp.join(onnx_dir, f'{shape}.onnx'), backend)
    return {
        key: by_shape['x'.join(map(str, batch.shape))]
        for key, batch in inputs.items()
    }


def prepared_calls(classifier, inputs, backend, dtype_name, device,
                   onnx_dir):
    """The callables of one backend and dtype (graphs exported under
    ``onnx_dir``), each run once: compiles, if it does."""
    if backend in ONNXRUNTIME_BACKENDS:
        graphs = osp.join(onnx_dir, backend)
        os.makedirs(graphs)
        calls = onnxruntime_calls(classifier, inputs, graphs, backend)
    else:
        calls = pytorch_calls(classifier, inputs, DTYPES[dtype_name], device,
                              backend == 'compiled')
    for call in calls.values():
        call()
    return calls


def prepare(model, settings, args, onnx_dir):
    """Build the model and the callables of every ``(backend, dtype)`` of
    ``settings`` (graphs exported under ``onnx_dir``), each run once.

    Returns:
        tuple: ``calls`` (``{(backend, dtype, 'latency' | 'throughput'):
        callable}``), ``prepared`` (``{setting: seconds it took to prepare
        (export, compile)}``), ``refused`` (``{setting: the
        UnusableInputError that kept it from running}``) and the input
        size.
    """
    device = torch.device(args.device)
    config = Config.fromfile(model.config)
    classifier = build_classifier(config, device)
    size = input_size(config)
    inputs = {
        'latency': torch.randn(1, 3, size, size, device=device),
        'throughput': torch.randn(
            args.batch_size, 3, size, size, device=device)
    }
    calls, prepared, refused = {}, {}, {}
    for setting in settings:
        start = time.perf_counter()
        try:
            ready = prepared_calls(classifier, inputs, *setting, device,
                                   onnx_dir)
        except UnusableInputError as error:  # a backend can't run it
            refused[setting] = error
            continue
        prepared[setting] = time.perf_counter() - start
        calls.update({(*setting, key): c for key, c in ready.items()})
    return calls, prepared, refused, size


def results(model, settings, size, times, prepared, refused, args):
    """Per setting, in order: the setting, then its row and the seconds it
    took to prepare, or the :class:`UnusableInputError` that kept it from
    running and None."""
    machine = describe_machine(torch.device(args.device))
    out = []
    for setting in settings:
        if setting in refused:
            out.append((setting, refused[setting], None))
            continue
        backend, dtype_name = setting
        latency = times[(*setting, 'latency')]
        row = dict(
            model=model.name,
            family=model.family,
            backend=backend,
            dtype=dtype_name,
            device=args.device,
            machine=machine,
            size=size,
            batch_size=args.batch_size,
            params_M=round(model.params / 1e6, 2),
            GFLOPs=round(model.flops / 1e9, 2),
            top1=model.top1,
            top1_source=model.source,
            latency_ms=round(median(latency) * 1e3, 1),
            latency_p90_ms=round(percentile(latency, 0.9) * 1e3, 1),
            throughput_img_s=round(
                args.batch_size / median(times[(*setting, 'throughput')]),
                2))
        out.append((setting, row, prepared[setting]))
    return out


def measure(model, settings, args):
    """The model timed in every ``(backend, dtype)`` of ``settings``, all in
    the same interleaved rounds; see :func:`results`."""
    (_, model_results), = measure_together([model], settings, args)
    return model_results


def measure_together(models, settings, args):
    """Every model of ``models`` in every setting, all in the same
    interleaved rounds: machine noise hits the models alike, at the cost of
    holding them all (and their onnxruntime sessions) in memory at once.

    Yields:
        tuple: Each model and its :func:`results`, after all are timed.
    """
    with tempfile.TemporaryDirectory() as onnx_dir:
        prepared_models, calls = [], {}
        for index, model in enumerate(models):
            model_calls, *rest = prepare(model, settings, args,
                                         osp.join(onnx_dir, str(index)))
            prepared_models.append((model, rest))
            calls.update(
                {(index, *key): c
                 for key, c in model_calls.items()})
            if len(models) > 1:
                print(f'prepared [{index + 1}/{len(models)}] {model.name}',
                      flush=True)
        times = timed_rounds(calls, args.iters, args.warmup,
                             torch.device(args.device))
    for index, (model, (prepared, refused, size)) in enumerate(
            prepared_models):
        model_times = {key[1:]: t for key, t in times.items()
                       if key[0] == index}
        yield model, results(model, settings, size, model_times, prepared,
                             refused, args)


def measure_in_groups(models, settings, args):
    """The models in groups of ``args.interleave_models`` neighbours in
    FLOPs (those whose latencies a front compares), each group timed in the
    same rounds by :func:`measure_together`."""
    by_flops = sorted(models, key=lambda model: model.flops)
    size = args.interleave_models
    for start in range(0, len(by_flops), size):
        yield from measure_together(by_flops[start:start + size], settings,
                                    args)


def main():
    args = parse_args()
    if set(ONNXRUNTIME_BACKENDS) & set(args.backends) and (
            args.device != 'cpu' or set(args.dtypes) != {'fp32'}):
        raise OptionError('--backends onnxruntime* time fp32-input graphs '
                          'on the CPU here; give --device cpu --dtypes fp32, '
                          'or leave onnxruntime out.')
    if args.device == 'cpu' and 'fp16' in args.dtypes:
        raise OptionError('--dtypes fp16 needs --device cuda; CPU autocast '
                          'runs bf16.')
    models = find_models(args.models) if args.models else default_models()
    settings = [(b, d) for b in args.backends for d in args.dtypes]
    runs = len(models) * len(settings)
    rows = []
    print(f'{len(models)} models x {len(args.backends)} backends x '
          f'{len(args.dtypes)} dtypes on {args.device}: '
          f'{describe_machine(torch.device(args.device))}')
    done = 0
    if args.interleave_models:
        measured = measure_in_groups(models, settings, args)
    else:
        measured = ((model, measure(model, settings, args))
                    for model in models)
    for model, model_results in measured:
        for (backend, dtype), row, prepared in model_results:
            done += 1
            run_name = f'[{done}/{runs}] {model.name} {backend} {dtype}'
            if isinstance(row, UnusableInputError):
                print(f'{run_name}: not timed: {row}', flush=True)
                continue
            rows.append(row)
            print(f'{run_name}: b1 {row["latency_ms"]} ms (p90 '
                  f'{row["latency_p90_ms"]}), b{args.batch_size} '
                  f'{row["throughput_img_s"]} img/s (ready in '
                  f'{prepared:.0f} s)', flush=True)
    panels = mark_fronts(rows, 'top1')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'frontier.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    plot_fronts(
        panels, osp.join(args.out, 'frontier.png'), 'top1',
        (f'batch-1 latency, ms ({args.device})',
         'ImageNet-1k top-1 (%), reported'),
        name=lambda row: row['model'].split('_')[0],
        highlighted=lambda row: row['family'] == 'SepViT',
        log_latency=True)
    print()
    print('| model | backend | dtype | top-1 | b1 ms (p90) | '
          f'b{args.batch_size} img/s | GFLOPs | on front |')
    print('|---|---|---|---|---|---|---|---|')
    for row in sorted(rows, key=lambda r: (r['backend'], r['dtype'],
                                           r['latency_ms'])):
        print(f'| {row["model"]} | {row["backend"]} | {row["dtype"]} | '
              f'{row["top1"]} | {row["latency_ms"]} '
              f'({row["latency_p90_ms"]}) | {row["throughput_img_s"]} | '
              f'{row["GFLOPs"]} | {"yes" if row["on_front"] else ""} |')
    print(f'\nWrote {osp.join(args.out, "frontier.csv")} and '
          f'{osp.join(args.out, "frontier.png")}')


if __name__ == '__main__':
    run(main)
