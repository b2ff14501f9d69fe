# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/analysis/benchmark_frontier.py: which models it compares, what it
reports of them, and the accuracy-speed front it draws."""
import argparse
import csv
import re

import mmcv
import pytest
import torch
from cli_helpers import REPO, import_tool, run_tools
from mmengine.config import Config

from mmsepvit.apis import load_model_index
from mmsepvit.utils import UnusableInputError

FRONTIER = str(REPO / 'tools' / 'analysis' / 'benchmark_frontier.py')
tool = import_tool(FRONTIER)
FAMILIES, default_models, find_models, input_size, zoo = (
    tool.FAMILIES, tool.default_models, tool.find_models, tool.input_size,
    tool.zoo)
benchmarking = import_tool(REPO / 'tools' / 'analysis' / 'benchmarking.py')
describe_machine, pareto_front = (benchmarking.describe_machine,
                                  benchmarking.pareto_front)
POOLFORMER = 'poolformer-s12_3rdparty_32xb128_in1k'


def test_pareto_front_is_what_nothing_beats_on_both():
    # (latency, top-1): a is fastest, c most accurate, b dominated by d,
    # e ties d's accuracy but is slower, f equals a.
    latencies = [10, 30, 50, 20, 25, 10]
    top1s = [70, 75, 82, 78, 78, 70]
    assert pareto_front(latencies, top1s) == [
        True, False, True, True, False, True
    ]


def test_a_models_backends_are_timed_in_the_same_rounds(monkeypatch):
    """Every timed call of one setting has a call of every other setting
    between it and the next, so a machine that slows down mid-run shifts
    all of a model's backends alike; a setting that cannot run is returned
    as its error, the others are timed."""
    tool = import_tool(FRONTIER)
    order = []

    def fake_calls(classifier, inputs, dtype, device, compiled):
        if compiled:
            raise UnusableInputError('no compiler here')
        return {
            key: (lambda key=key: order.append((dtype, key)))
            for key in inputs
        }

    monkeypatch.setattr(tool, 'build_classifier',
                        lambda config, device: torch.nn.Identity())
    monkeypatch.setattr(tool, 'pytorch_calls', fake_calls)
    settings = [('pytorch', 'fp32'), ('compiled', 'fp32'),
                ('pytorch', 'bf16')]
    model, = find_models(['sepvit-lite_in1k'])
    results = tool.measure(
        model, settings,
        argparse.Namespace(device='cpu', batch_size=2, iters=3, warmup=1))
    assert [setting for setting, _, _ in results] == settings
    (_, fp32, _), (_, refused, seconds), (_, bf16, _) = results
    assert isinstance(refused, UnusableInputError) and seconds is None
    assert (fp32['dtype'], bf16['dtype']) == ('fp32', 'bf16')
    calls = {(torch.float32, 'latency'), (torch.float32, 'throughput'),
             (torch.bfloat16, 'latency'), (torch.bfloat16, 'throughput')}
    # Each call once to prepare it, once to warm up, then 3 rounds.
    timed = order[2 * len(calls):]
    assert len(timed) == 3 * len(calls)
    for start in range(0, len(timed), len(calls)):
        assert set(timed[start:start + len(calls)]) == calls


def test_interleaved_models_are_timed_in_the_same_rounds(monkeypatch):
    """With --interleave-models N the models go in groups of N neighbours
    in FLOPs, and every round of a group calls each of its models in every
    setting, so a machine that slows down shifts them alike; each model
    gets its own rows back."""
    tool = import_tool(FRONTIER)
    order = []

    def fake_classifier(config, device):
        classifier = torch.nn.Identity()
        classifier.arch = config.model.backbone.arch
        return classifier

    def fake_calls(classifier, inputs, dtype, device, compiled):
        return {
            key:
            (lambda key=key: order.append((classifier.arch, dtype, key)))
            for key in inputs
        }

    monkeypatch.setattr(tool, 'build_classifier', fake_classifier)
    monkeypatch.setattr(tool, 'pytorch_calls', fake_calls)
    settings = [('pytorch', 'fp32'), ('pytorch', 'bf16')]
    models = find_models(['sepvit-s_in1k', 'sepvit-lite_in1k',
                          'sepvit-t_in1k'])
    measured = list(
        tool.measure_in_groups(
            models, settings,
            argparse.Namespace(
                device='cpu', batch_size=2, iters=3, warmup=1,
                interleave_models=2)))
    # Lite and T (the fewest FLOPs) together, then S.
    by_flops = sorted(models, key=lambda model: model.flops)
    assert [model for model, _ in measured] == by_flops
    for model, results in measured:
        assert [setting for setting, _, _ in results] == settings
        assert {row['model'] for _, row, _ in results} == {model.name}
    per_model = 2 * len(settings)
    for group in (('lite', 'tiny'), ('small', )):
        calls = {(arch, dtype, key) for arch in group
                 for dtype in (torch.float32, torch.bfloat16)
                 for key in ('latency', 'throughput')}
        # Each call once to prepare it, once to warm up, then 3 rounds.
        group_order = order[:5 * len(calls)]
        del order[:5 * len(calls)]
        assert set(group_order) == calls
        assert len(calls) == per_model * len(group)
        timed = group_order[2 * len(calls):]
        for start in range(0, len(timed), len(calls)):
            assert set(timed[start:start + len(calls)]) == calls
    assert not order


@pytest.mark.cuda
def test_models_that_cache_tensors_at_eval_run_on_the_gpu():
    """EfficientFormer computes its attention biases when switched to eval
    mode: a model switched on the CPU and moved after keeps them there."""
    tool = import_tool(FRONTIER)
    model, = find_models(['efficientformer-l1_3rdparty_8xb128_in1k'])
    (_, row, _), = tool.measure(
        model, [('pytorch', 'fp16')],
        argparse.Namespace(device='cuda', batch_size=2, iters=1, warmup=1))
    assert row['device'] == 'cuda' and row['throughput_img_s'] > 0


@pytest.mark.slow  # reads every candidate config of mmpretrain's zoo
def test_default_models_are_sepvit_and_the_issue_families_at_224():
    models = default_models()
    names = [m.name for m in models]
    ours = {
        name
        for name, model in load_model_index().items()
        if model['In Collection'] == 'SepViT' and name.endswith('_in1k')
    }
    assert ours <= set(names) and len(ours) == 4
    # Every same-family ImageNet-1k-only checkpoint at 224: its network.
    candidates = {}
    for m in zoo().values():
        if m.family in FAMILIES and 'in21k' not in m.name:
            config = Config.fromfile(m.config)
            if input_size(config) == 224:
                candidates[m] = repr(config.model.to_dict())
    networks = set()
    for model in models:
        if model.is_sepvit:
            continue
        config = Config.fromfile(model.config)
        assert model.family in FAMILIES, model
        assert 1e9 <= model.flops <= 20e9, model
        assert input_size(config) == 224 and 'in21k' not in model.name
        network = repr(config.model.to_dict())
        assert network not in networks, model  # one checkpoint a network
        networks.add(network)
        # The best-reported checkpoint of the network.
        same = [
            m for m, other in candidates.items()
            if m.config != model.config and other == network
        ]
        assert all(m.top1 <= model.top1 for m in same), (model, same)
    for expected in ('swin-tiny', 'convnext-tiny', 'deit-small',
                     'twins-svt-small', 'poolformer-s12',
                     'efficientformer-l1'):
        assert any(n.startswith(expected) for n in names), expected
    assert not any(n.startswith('convnext-large') for n in names)


@pytest.mark.slow
def test_frontier_tool_times_reports_and_draws(tmp_path):
    out = tmp_path / 'frontier'
    models = ['sepvit-lite_in1k', 'deit-tiny_4xb256_in1k']
    (code, text), (ort_code, ort_text), (bad_code, bad_text) = run_tools([
        [
            FRONTIER, '--models', *models, '--iters', '2', '--warmup', '0',
            '--batch-size', '2', '--out', out
        ],
        [
            # PoolFormer's fused graph holds a GroupNorm that onnxruntime's
            # CPU provider lacks: reported, the run goes on.
            FRONTIER, '--models', models[0], POOLFORMER, '--backends',
            'onnxruntime', 'onnxruntime-fused', '--iters', '1', '--warmup',
            '0', '--batch-size', '1', '--out', tmp_path / 'ort'
        ],
        [FRONTIER, '--models', 'swin-tiny', '--out', tmp_path / 'bad'],
    ], tmp_path)
    assert code == 0, text[-3000:]
    assert '[1/2] sepvit-lite_in1k pytorch fp32: b1 ' in text
    with open(out / 'frontier.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['model'] for r in rows] == models
    reported = zoo()
    for row in rows:
        model = reported[row['model']]
        assert float(row['top1']) == model.top1
        assert float(row['GFLOPs']) == round(model.flops / 1e9, 2)
        assert float(row['latency_ms']) <= float(row['latency_p90_ms'])
        assert float(row['throughput_img_s']) > 0
    assert rows[0]['top1_source'].startswith('reported by the authors')
    # The tools here run side by side, with threads of their own.
    machine = r'\d+ threads'.join(
        map(re.escape,
            re.split(r'\d+ threads', describe_machine(torch.device('cpu')))))
    assert all(re.fullmatch(machine, r['machine']) for r in rows), rows
    assert re.search(machine, text)
    front = pareto_front([float(r['latency_ms']) for r in rows],
                         [float(r['top1']) for r in rows])
    assert [r['on_front'] == 'True' for r in rows] == front
    picture = mmcv.imread(str(out / 'frontier.png'))
    assert picture is not None and picture.shape[1] > 500

    assert ort_code == 0, ort_text[-3000:]
    with open(tmp_path / 'ort' / 'frontier.csv') as f:
        assert [(r['model'], r['backend']) for r in csv.DictReader(f)] == [
            (models[0], 'onnxruntime'), (models[0], 'onnxruntime-fused'),
            (POOLFORMER, 'onnxruntime')
        ]
    assert (f'[4/4] {POOLFORMER} onnxruntime-fused fp32: not timed: '
            in ort_text), ort_text[-3000:]
    assert 'GroupNorm' in ort_text

    assert bad_code == 1 and 'Traceback' not in bad_text
    assert 'did you mean swin-tiny_' in bad_text, bad_text[-2000:]
