# Copyright (c) mmsepvit contributors. All rights reserved.
"""Is your SepViT model worth deploying? Accuracy against speed of whole
task models (backbone, neck and head) on your data and this machine.

    python tools/analysis/task_frontier.py \\
        --model CONFIG CHECKPOINT [--model CONFIG CHECKPOINT ...]
        [--name NAME ...] [--backends pytorch onnxruntime onnxruntime-fused
                                      onnxruntime-int8]
        [--dtypes fp32 bf16] [--batch-size 4] [--iters 5] [--warmup 1]
        [--metric KEY] [--metrics-from CSV] [--cfg-options ...] [--out DIR]

Each model (any segmentor, detector or classifier config with its
checkpoint: SepViT, the convnet you distilled from, a small convnet) is
evaluated by ``tools/test.py`` with its config's own test loop and metric,
unless ``--metrics-from`` names the CSV of an earlier run that has it. Then
every model is timed at the size its test pipeline gives the first test
image, as a user runs it (``predict``: pre-processed batch in,
post-processed predictions out), batch-1 latency (median and 90th
percentile) and batch-N throughput, in each backend: PyTorch eager (fp32,
bf16 under autocast) and onnxruntime (fp32 input; the graph
``pytorch2onnx.py`` writes, at the test size with a dynamic batch, plain, with
onnxruntime's fusions, or with int8 weights in the linear layers; a
two-stage detector's RoI stages run in PyTorch). PyTorch rows also time the
backbone alone (``backbone_ms``), to show where a model's time goes. All
models and backends are timed in the same interleaved rounds.

Writes ``DIR/task_frontier.csv`` and ``DIR/task_frontier.png`` (the metric
against batch-1 latency, one panel per backend and dtype, the Pareto front
drawn, SepViT models in red, the machine named) and prints the table. A
model is on the front when no other model is at least as accurate and as
fast, and better in one.
"""
import argparse
import csv
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext

import torch
from benchmarking import (DTYPES, ONNXRUNTIME_BACKENDS, add_timing_args,
                          describe_machine, mark_fronts, median, percentile,
                          plot_fronts, timed_rounds)
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsepvit.apis import build_model
from mmsepvit.cli import OptionError, add_cfg_options_arg, load_config, run
from mmsepvit.hosts import host_of
from mmsepvit.utils import (UserError, float32_mmcv_ops_under_cpu_autocast,
                            load_checkpoint_into, require_file)

BACKENDS = ('pytorch', *ONNXRUNTIME_BACKENDS)
TEST_TOOL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                     'test.py')
COLUMNS = ('name', 'config', 'checkpoint', 'backbone', 'sepvit', 'metric',
           'value', 'backend', 'dtype', 'machine', 'input_hw', 'batch_size',
           'params_M', 'latency_ms', 'latency_p90_ms', 'backbone_ms',
           'throughput_img_s', 'on_front')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--model',
        nargs=2,
        action='append',
        required=True,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a config and its checkpoint (give --model once per model)')
    parser.add_argument(
        '--name', nargs='+', help='names of the models (default: config '
        'file names)')
    parser.add_argument(
        '--backends',
        nargs='+',
        choices=BACKENDS,
        default=['pytorch', 'onnxruntime-fused', 'onnxruntime-int8'])
    parser.add_argument(
        '--dtypes',
        nargs='+',
        choices=('bf16', 'fp32'),
        default=['fp32', 'bf16'],
        help='PyTorch dtypes (onnxruntime rows are fp32)')
    parser.add_argument(
        '--metric',
        help='the metric to compare (default: the task\'s: accuracy/top1, '
        'mIoU, coco/bbox_mAP)')
    parser.add_argument(
        '--metrics-from',
        help='a task_frontier.csv whose metric values to reuse for the same '
        'config and checkpoint instead of evaluating again')
    parser.add_argument(
        '--out', default='work_dirs/task_frontier',
        help='where the CSV and PNG go')
    add_timing_args(
        parser, iters=5, warmup=1, dense=False,
        batch=(4, 'batch of the throughput rows, at the test size'))
    add_cfg_options_arg(parser)
    args = parser.parse_args()
    if args.device != 'cpu':
        raise OptionError('task_frontier.py times on the CPU (--device cpu).')
    if args.name and len(args.name) != len(args.model):
        raise OptionError(f'--name gives {len(args.name)} names for '
                          f'{len(args.model)} models.')
    return args


class Model:
    """One config with its checkpoint, loaded, and one test batch."""

    def __init__(self, name, config, checkpoint, cfg_options, batch_size):
        require_file(checkpoint, 'checkpoint')
        self.name, self.config, self.checkpoint = name, config, checkpoint
        self.cfg = load_config(config, cfg_options)
        self.host = host_of(self.cfg.get('default_scope'))
        self.model = build_model(self.cfg).eval()
        load_checkpoint_into(self.model, checkpoint,
                             f' It is not a checkpoint of {config}.')
        self.backbone = self.cfg.model.backbone.type
        self.batches = {
            'latency': self._test_batch(1),
            'throughput': self._test_batch(batch_size)
        }

    def _test_batch(self, size):
        """The first test image, pre-processed, ``size`` times."""
        init_default_scope(self.cfg.default_scope)
        loader = dict(self.cfg.test_dataloader, batch_size=1, num_workers=0,
                      persistent_workers=False)
        sample = next(iter(Runner.build_dataloader(loader)))
        inputs = sample['inputs']
        inputs = (inputs.repeat(size, 1, 1, 1) if isinstance(
            inputs, torch.Tensor) else inputs * size)
        batch = dict(inputs=inputs,
                     data_samples=sample['data_samples'] * size)
        with torch.no_grad():
            return self.model.data_preprocessor(batch, False)

    @property
    def input_hw(self):
        return tuple(self.batches['latency']['inputs'].shape[2:])


def evaluate(model: Model, metric: str, cfg_options, work_dir) -> float:
    """``metric`` as ``tools/test.py`` prints it for the model."""
    command = [sys.executable, TEST_TOOL, model.config, model.checkpoint,
               '--work-dir', work_dir]
    if cfg_options:
        command += ['--cfg-options'] + [f'{k}={v}'
                                        for k, v in cfg_options.items()]
    result = subprocess.run(command, capture_output=True, text=True)
    line = re.findall(r'^Test metrics: .*$', result.stdout, re.M)
    if result.returncode != 0 or not line:
        raise UserError(f'tools/test.py failed for {model.name}:\n'
                        f'{(result.stdout + result.stderr)[-2000:]}')
    values = dict(
        re.findall(r'([\w/.-]+): ([-\d.]+|nan)', line[0].split(': ', 1)[1]))
    if metric not in values:
        raise UserError(f'tools/test.py printed no {metric!r} for '
                        f'{model.name}; it printed {sorted(values)}. Give '
                        f'--metric one of them.')
    return float(values[metric])


def pytorch_calls(model: Model, dtype: torch.dtype):
    """Whole-model and backbone callables in ``dtype``."""
    autocast = (torch.autocast('cpu', dtype=dtype)
                if dtype != torch.float32 else nullcontext())

    def predict(batch):
        with torch.no_grad(), autocast:
            return model.model(**batch, mode='predict')

    def backbone(batch):
        with torch.no_grad(), autocast:
            return model.model.backbone(batch['inputs'])

    return {
        'latency': lambda: predict(model.batches['latency']),
        'throughput': lambda: predict(model.batches['throughput']),
        'backbone': lambda: backbone(model.batches['latency'])
    }


def onnxruntime_calls(model: Model, backend: str, onnx_dir: str):
    """Callables of the model's graph in onnxruntime (batch size dynamic),
    with the model's own pre- and post-processing."""
    from mmsepvit.deployment import (OnnxRuntimeModel, deploy_graph,
                                     export_module)
    path = osp.join(onnx_dir, f'{model.name}_{backend}.onnx')
    graph = deploy_graph(model.model)
    export_module(
        graph,
        model.batches['throughput']['inputs'],
        path,
        dynamic_dims=(0, ),
        metadata=dict(mmsepvit_graph=graph.kind),
        **ONNXRUNTIME_BACKENDS[backend])
    runtime = OnnxRuntimeModel(path, model.model)

    def predict(batch):
        with torch.no_grad():
            return runtime(**batch, mode='predict')

    return {
        kind: (lambda batch=batch: predict(batch))
        for kind, batch in model.batches.items()
    }


def prepare(models, settings, onnx_dir):
    """``{(model index, backend, dtype, kind): callable}``, each run once,
    and the settings a model could not run in, with the reason."""
    calls, refused = {}, {}
    for index, model in enumerate(models):
        for backend, dtype in settings:
            start = time.perf_counter()
            try:
                if backend == 'pytorch':
                    ready = pytorch_calls(model, DTYPES[dtype])
                else:
                    ready = onnxruntime_calls(model, backend, onnx_dir)
                for call in ready.values():
                    call()
            except Exception as error:  # an export or runtime that fails
                reason = str(error).strip().split('\n')[0][:300]
                refused[(index, backend, dtype)] = reason
                print(f'  {model.name} {backend} {dtype}: not timed: '
                      f'{type(error).__name__}: {reason}', flush=True)
                continue
            calls.update({(index, backend, dtype, kind): call
                          for kind, call in ready.items()})
            print(f'  {model.name} {backend} {dtype}: ready in '
                  f'{time.perf_counter() - start:.0f} s', flush=True)
    return calls, refused


def settings_of(args):
    return [('pytorch', dtype) for dtype in args.dtypes
            if 'pytorch' in args.backends] + [
                (backend, 'fp32') for backend in args.backends
                if backend != 'pytorch'
            ]


def earlier_metrics(path):
    if path is None:
        return {}
    require_file(path, '--metrics-from CSV')
    with open(path) as f:
        return {(row['config'], row['checkpoint'], row['metric']):
                float(row['value']) for row in csv.DictReader(f)}


def main():
    args = parse_args()
    names = args.name or [
        osp.splitext(osp.basename(config))[0] for config, _ in args.model
    ]
    if len(set(names)) != len(names):
        raise OptionError(f'Two models have the same name: {names}; give '
                          f'--name.')
    settings = settings_of(args)
    machine = describe_machine(torch.device('cpu'))
    print(f'{len(names)} models x {len(settings)} settings on {machine}')
    if 'bf16' in args.dtypes:
        float32_mmcv_ops_under_cpu_autocast()
    models = [
        Model(name, config, checkpoint, args.cfg_options, args.batch_size)
        for name, (config, checkpoint) in zip(names, args.model)
    ]
    metric = args.metric or models[0].host.primary_metric
    known = earlier_metrics(args.metrics_from)
    values = []
    with tempfile.TemporaryDirectory() as work_dir:
        for index, model in enumerate(models):
            value = known.get((model.config, model.checkpoint, metric))
            if value is None:
                print(f'[{index + 1}/{len(models)}] evaluating {model.name} '
                      f'with tools/test.py', flush=True)
                value = evaluate(model, metric, args.cfg_options,
                                 osp.join(work_dir, model.name))
            print(f'[{index + 1}/{len(models)}] {model.name}: {metric} '
                  f'{value}', flush=True)
            values.append(value)
        print('preparing the backends', flush=True)
        calls, refused = prepare(models, settings, work_dir)
        print(f'timing {len(calls)} calls in {args.iters} interleaved '
              f'rounds', flush=True)
        times = timed_rounds(calls, args.iters, args.warmup,
                             torch.device('cpu'))
    rows = []
    for index, model in enumerate(models):
        for backend, dtype in settings:
            if (index, backend, dtype) in refused:
                continue

            def of(kind, backend=backend, dtype=dtype):
                return times.get((index, backend, dtype, kind))

            latency = of('latency')
            rows.append(dict(
                name=model.name, config=model.config,
                checkpoint=model.checkpoint, backbone=model.backbone,
                sepvit=model.backbone.endswith('SepViT'), metric=metric,
                value=values[index], backend=backend, dtype=dtype,
                machine=machine,
                input_hw='x'.join(map(str, model.input_hw)),
                batch_size=args.batch_size,
                params_M=round(sum(p.numel() for p in
                                   model.model.parameters()) / 1e6, 2),
                latency_ms=round(median(latency) * 1e3, 1),
                latency_p90_ms=round(percentile(latency, 0.9) * 1e3, 1),
                backbone_ms=(round(median(of('backbone')) * 1e3, 1)
                             if of('backbone') else ''),
                throughput_img_s=round(
                    args.batch_size / median(of('throughput')), 2)))
    if not rows:
        raise UserError('No model could be timed in any backend.')
    panels = mark_fronts(rows, 'value')
    os.makedirs(args.out, exist_ok=True)
    csv_path = osp.join(args.out, 'task_frontier.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    png_path = osp.join(args.out, 'task_frontier.png')
    plot_fronts(panels, png_path, 'value',
                ('batch-1 latency, ms (whole model)', metric),
                name=lambda row: row['name'],
                highlighted=lambda row: row['sepvit'])
    print(f'\n{machine}\n')
    print(f'| model | backend | dtype | {metric} | b1 ms (p90) | backbone '
          f'ms | b{args.batch_size} img/s | params M | on front |')
    print('|---|---|---|---|---|---|---|---|---|')
    for row in sorted(rows, key=lambda r: (r['backend'], r['dtype'],
                                           r['latency_ms'])):
        print(f'| {row["name"]} | {row["backend"]} | {row["dtype"]} | '
              f'{row["value"]} | {row["latency_ms"]} '
              f'({row["latency_p90_ms"]}) | {row["backbone_ms"]} | '
              f'{row["throughput_img_s"]} | {row["params_M"]} | '
              f'{"yes" if row["on_front"] else ""} |')
    print(f'\nWrote {csv_path} and {png_path}')


if __name__ == '__main__':
    run(main)
