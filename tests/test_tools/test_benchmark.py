# Copyright (c) mmsepvit contributors. All rights reserved.
"""What ``tools/analysis/benchmark_limits.py`` divides by: the matrix
products it records from a model's forward and backward pass must be the
ones PyTorch's own FLOP counter finds, or its GMAC/s, shares of the ceiling
and limits would be made up."""
import csv
import os
import re
import subprocess
import sys

import pytest
import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from mmsepvit.models import SepViT
from cli_helpers import REPO, import_tool, run_tool

BENCHMARKING = import_tool(REPO / 'tools' / 'analysis' / 'benchmarking.py')
comparison_backbones, describe_machine, matmul_macs, record_matmuls = (
    BENCHMARKING.comparison_backbones, BENCHMARKING.describe_machine,
    BENCHMARKING.matmul_macs, BENCHMARKING.record_matmuls)

aten = torch.ops.aten


def _as_registered(formula, groups_at=None):
    """One of torch's registered formulas (they take the operator's raw
    arguments), giving 0 for grouped (depthwise) convolutions: they are not
    matrix products, and the benchmark leaves them out."""

    def count(*args, out_val=None, **kwargs):
        if groups_at is not None and args[groups_at] != 1:
            return 0
        return formula(*args, out_val=out_val, **kwargs)

    count._get_raw = True
    return count


def torch_macs(call):
    """Multiply-accumulates of ``call()`` by torch's FLOP formulas; the CPU
    flash-attention kernels, absent from its table, are given its formulas
    for the other fused attention kernels."""
    mapping = {
        aten.convolution:
        _as_registered(flop_counter.conv_flop, 8),
        aten.convolution_backward:
        _as_registered(flop_counter.conv_backward_flop, 9),
        aten._scaled_dot_product_flash_attention_for_cpu:
        _as_registered(flop_counter.sdpa_flop),
        aten._scaled_dot_product_flash_attention_for_cpu_backward:
        _as_registered(flop_counter.sdpa_backward_flop),
    }
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        call()
    return counter.get_total_flops() // 2


def training_step(model, batch):
    sum(out.mean() for out in model(batch)).backward()


@pytest.mark.parametrize('dense', [False, True], ids=['cls', 'dense'])
def test_training_step_products_are_torchs_count(dense):
    size = 256 if dense else 224
    batch = torch.rand(1, 3, size, size)
    for name, build in comparison_backbones(dense).items():
        torch.manual_seed(0)
        model = build()
        model.train()  # some mmpretrain backbones' train() returns None
        recorded = matmul_macs(
            record_matmuls(lambda: training_step(model, batch)))
        model.zero_grad()
        forward = matmul_macs(record_matmuls(lambda: model(batch)))
        assert recorded == torch_macs(lambda: training_step(model, batch)), \
            name
        # backward: the weight and input gradients of every product, and the
        # fused attention's recomputed scores; only the first layer's input
        # gradient (the image's) is not formed.
        assert 2.5 * forward < recorded < 3.2 * forward, name


def test_inference_mode_records_the_same_products():
    """Under ``inference_mode`` linear layers and attention arrive whole;
    the products are the same as when they arrive decomposed."""
    model = SepViT('lite', out_indices=(0, 1, 2, 3)).eval()
    batch = torch.rand(2, 3, 160, 192)
    with torch.no_grad():
        decomposed = record_matmuls(lambda: model(batch))
    with torch.inference_mode():
        whole = record_matmuls(lambda: model(batch))
    assert matmul_macs(whole) == matmul_macs(decomposed) == torch_macs(
        lambda: model(batch))


def _cpuinfo_flags():
    with open('/proc/cpuinfo') as f:
        return next(line for line in f
                    if line.startswith('flags')).split(':')[1].split()


@pytest.mark.skipif(not os.path.exists('/proc/cpuinfo'),
                    reason='reads the kernel\'s list of CPU flags')
def test_machine_says_what_bf16_speed_depends_on():
    # Read against the kernel's flags, not torch's detection it uses.
    flags = _cpuinfo_flags()
    described = describe_machine(torch.device('cpu'))
    bf16 = 'yes' if 'avx512_bf16' in flags else 'no'
    amx = 'yes' if 'amx_tile' in flags else 'no'
    assert f'AVX-512 BF16: {bf16}' in described, described
    assert f'AMX: {amx}' in described, described
    assert f'{torch.get_num_threads()} threads' in described


# Convolutions of 416 widths, in two rounds: more oneDNN kernels than its
# default cache keeps (each creates its own and reorders: PyTorch takes
# oneDNN for a 3x3 convolution of batch 1 above 20480 input values),
# returned to as the timing rounds return to a model.
_TWO_ROUNDS = """
import sys
import torch
if {with_benchmarking}:
    sys.path.insert(0, {folder!r})
    import benchmarking
convs = [torch.nn.Conv2d(c, c, 3, padding=1) for c in range(96, 512)]
with torch.no_grad():
    for _ in range(2):
        for conv in convs:
            conv(torch.randn(1, conv.in_channels, 16, 16))
"""


def _kernels_created(with_benchmarking, **env):
    """The oneDNN kernels that a fresh process running ``_TWO_ROUNDS``
    (with ``env`` added) created (did not find in its cache), each as oneDNN
    describes it."""
    env = dict({k: v for k, v in os.environ.items()
                if k != 'ONEDNN_PRIMITIVE_CACHE_CAPACITY'}, **env)
    script = _TWO_ROUNDS.format(with_benchmarking=with_benchmarking,
                                folder=str(REPO / 'tools' / 'analysis'))
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, check=True,
                            env=dict(env, ONEDNN_VERBOSE='profile_create'))
    # The last field is the time the creation took.
    return [line.rsplit(',', 1)[0] for line in result.stdout.splitlines()
            if 'create:cache_miss' in line]


@pytest.mark.slow
def test_timed_models_keep_their_kernels_across_rounds():
    # A model returned to after the others ran creates no kernel again: its
    # first call of a round costs what its other calls cost.
    created = _kernels_created(with_benchmarking=True)
    assert len(created) > 1024
    assert len(set(created)) == len(created)
    # With oneDNN's default cache, the second round creates them again.
    default = _kernels_created(with_benchmarking=False)
    assert len(default) > len(set(default))
    # A size the user sets is the one used.
    own = _kernels_created(with_benchmarking=True,
                           ONEDNN_PRIMITIVE_CACHE_CAPACITY='1024')
    assert len(own) > len(set(own))


def rounding(printed: str) -> float:
    """The relative error of a rate printed to two decimals."""
    return 0.005 / float(printed)


@pytest.mark.slow
def test_benchmark_prints_each_backbone_against_its_limit(tmp_path):
    code, out = run_tool([
        'tools/analysis/benchmark_limits.py', '--dtypes', 'fp32', '--modes',
        'eager', '--sizes', '224', '--batch-size', '1', '--train-batch-size',
        '1', '--iters', '1', '--warmup', '0', '--csv', tmp_path / 'limits.csv'
    ], REPO)
    assert code == 0, out
    assert describe_machine(torch.device('cpu')) in out
    block = out.split('training step')[1].splitlines()[2:]
    end = next(i for i, line in enumerate(block)
               if line.startswith('  (SepViT attention'))
    *training, ceiling_line, attention_line = block[:end + 1]
    rows = {line.split()[0]: line.split()[2:] for line in training}
    ceiling = float(
        re.search(r'same rounds: ([\d.]+) GMAC/s', ceiling_line)[1])
    # fp32 runs the fused attention (bf16: tested in test_attention_paths).
    assert attention_line.strip() == '(SepViT attention: fused)'
    assert set(rows) == set(comparison_backbones(False))
    for name, (rate, vs, matmul, gmacs, share, limit, limit_vs, memory,
               memory_vs) in rows.items():
        # The step's products at the ceiling's rate: 3x SepViT-T's 4.5
        # GMAC per image forward is under 14 GMAC.
        macs_per_image = ceiling / float(limit)
        assert 5 < macs_per_image < 14, name
        # Tolerances: the printed figures' rounding (rates to 0.005, a
        # large share of the under-1 image/s of a loaded 2-core machine).
        assert float(gmacs) == pytest.approx(
            float(rate) * macs_per_image,
            rel=0.02 + rounding(limit),
            abs=0.06 + 0.005 * macs_per_image), name
        assert float(share.rstrip('%')) == pytest.approx(
            100 * float(gmacs) / ceiling, abs=1), name
        assert float(limit_vs.rstrip('x')) == pytest.approx(
            float(limit) / float(rows['Swin-T'][0]),
            rel=0.01 + rounding(limit) + rounding(rows['Swin-T'][0]),
            abs=0.01), name
    # The CSV holds the printed training rows (and the inference ones).
    with open(tmp_path / 'limits.csv', newline='') as f:
        written = list(csv.DictReader(f))
    assert {r['step'] for r in written} == {'inference', 'training'}
    for row in written:
        if row['step'] == 'training':
            assert [row[c] for c in (
                'img_per_s', 'img_per_s_vs_swin', 'matmul', 'gmac_per_s',
                'of_square', 'limit_img_per_s', 'limit_vs_swin',
                'activation_mib', 'activation_vs_swin'
            )] == rows[row['backbone']]
        assert row['attention'] == (
            'fused' if row['backbone'] == 'SepViT-T' else '')
    assert out.count('(SepViT attention: fused)') == 2


@pytest.mark.slow
def test_backbone_benchmark_times_backends_side_by_side(tmp_path):
    code, out = run_tool([
        'tools/analysis/benchmark_backbones.py', '--batch-size', '1',
        '--iters', '1', '--warmup', '0', '--skip-dense', '--backend',
        'pytorch', 'onnxruntime-int8', '--csv', tmp_path / 'backbones.csv'
    ], REPO)
    assert code == 0, out
    assert describe_machine(torch.device('cpu')) in out
    table = out.split('backends interleaved')[1].splitlines()[2:]
    backends = ('pytorch', 'onnxruntime-int8')
    cells = [line.split() for line in table]
    rows = {(row[0], row[1]): row[2:]
            for row in cells if len(row) > 1 and row[1] in backends}
    names = set(comparison_backbones(False))
    # Every backbone exports, with onnxruntime's fusions and int8 linear
    # weights too; at batch size 1 its one graph serves latency and
    # throughput.
    assert set(rows) == {(name, backend) for name in names
                         for backend in backends}
    assert sorted(re.findall(r'^exported (\S+) at 1x3x224x224 ', out,
                             re.M)) == sorted(names)
    for (name, backend), (_, _, rate, _, rate_vs,
                          vs_pytorch) in rows.items():
        swin = rows['Swin-T', backend]
        # rel: the printed rates' rounding.
        pytorch_rate = rows[name, 'pytorch'][2]
        assert float(rate_vs.rstrip('x')) == pytest.approx(
            float(rate) / float(swin[2]),
            rel=rounding(rate) + rounding(swin[2]),
            abs=0.01), name
        assert float(vs_pytorch.rstrip('x')) == pytest.approx(
            float(rate) / float(pytorch_rate),
            rel=rounding(rate) + rounding(pytorch_rate),
            abs=0.01), name
    # The CSV holds the printed rows.
    with open(tmp_path / 'backbones.csv', newline='') as f:
        written = {(r['backbone'], r['backend']): r for r in csv.DictReader(f)}
    assert set(written) == set(rows)
    for key, (b1, p90, rate, latency_vs, rate_vs, vs_pytorch) in rows.items():
        assert [written[key][c] for c in (
            'b1_median_ms', 'b1_p90_ms', 'img_per_s', 'latency_vs_swin',
            'img_per_s_vs_swin', 'img_per_s_vs_pytorch')] == [
                b1, p90, rate, latency_vs, rate_vs, vs_pytorch]
        assert written[key]['machine'] == describe_machine(
            torch.device('cpu'))


def test_ffn_variants_differ_from_sepvit_t_only_in_the_mlp():
    """--ffn-variants: the same SepViT-T with mmcv's plain FFN, and with it
    and gradient checkpointing; same outputs and gradients, and the plain
    FFN keeps more for the backward pass than the default."""
    ActivationMeter = BENCHMARKING.ActivationMeter
    builders = comparison_backbones(False, ffn_variants=True)
    x = torch.rand(1, 3, 224, 224)
    results = {}
    for name in ('SepViT-T', 'SepViT-T FFN', 'SepViT-T cp'):
        torch.manual_seed(0)
        model = builders[name]().train()
        blocks = [b for s in model.stages for b in s.blocks]
        assert all(b.ffn.recompute_gelu == (name == 'SepViT-T')
                   for b in blocks)
        assert all(b.with_cp == (name == 'SepViT-T cp') for b in blocks)
        with ActivationMeter(model) as meter:
            out, = model(x)
            out.pow(2).mean().backward()
        results[name] = (out.detach(), model.stages[0].blocks[0].ffn
                         .layers[0][0].weight.grad, meter.bytes)
    default, plain, checkpointed = results.values()
    for other in (plain, checkpointed):
        torch.testing.assert_close(other[0], default[0])
        torch.testing.assert_close(other[1], default[1])
    assert checkpointed[2] < default[2] < plain[2]


@pytest.mark.parametrize('has_amx', [True, False])
def test_the_printed_path_is_the_one_each_step_runs(has_amx, monkeypatch):
    """bf16 on CPU: the products in a training step; in inference the
    fused kernel with AMX, the products without."""
    from cli_helpers import import_tool

    from mmsepvit.models.utils import separable_attention
    monkeypatch.setattr(separable_attention, 'cpu_has_amx_bf16',
                        lambda: has_amx)
    tool = import_tool(REPO / 'tools' / 'analysis' / 'benchmark_limits.py')
    cpu = torch.device('cpu')
    assert tool.sepvit_attention_path(cpu, torch.bfloat16,
                                      training=True) == 'products'
    assert tool.sepvit_attention_path(cpu, torch.bfloat16, training=False) \
        == ('fused' if has_amx else 'products')
    assert tool.sepvit_attention_path(cpu, torch.float32,
                                      training=True) == 'fused'
