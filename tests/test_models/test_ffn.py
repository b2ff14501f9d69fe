# Copyright (c) mmsepvit contributors. All rights reserved.
"""GELURecomputingFFN: mmcv's FFN, keeping half its hidden activations for
the backward pass."""
import types

import pytest
import torch
from cli_helpers import REPO, import_tool
from mmcv.cnn.bricks.transformer import FFN

from mmsepvit.models import SepViT
from mmsepvit.models.utils import GELURecomputingFFN
from mmsepvit.utils import flop_analyzer

# What benchmark_limits.py measures activations with.
ActivationMeter = import_tool(REPO / 'tools' / 'analysis' /
                              'benchmarking.py').ActivationMeter

EMBED, HIDDEN = 24, 96


def plain_and_recomputing(**kwargs):
    """mmcv's FFN and ours with the same weights."""
    cfg = dict(
        embed_dims=EMBED,
        feedforward_channels=HIDDEN,
        num_fcs=2,
        dropout_layer=None)
    cfg.update(kwargs)
    torch.manual_seed(0)
    plain = FFN(**cfg)
    ours = GELURecomputingFFN(**cfg)
    ours.load_state_dict(plain.state_dict())  # strict: mmcv's keys
    return plain, ours


def train_step(module, x, dtype=torch.float32, **forward_kwargs):
    """Output, gradients of the input and every parameter, and the bytes
    autograd kept for backward."""
    x = x.detach().requires_grad_()
    with ActivationMeter(module) as meter, torch.autocast(
            'cpu', dtype, enabled=dtype != torch.float32):
        out = module(x, **forward_kwargs)
    if isinstance(out, tuple):
        loss = sum(o.float().square().mean() for o in out)
    else:
        loss = out.float().square().mean()
    grads = torch.autograd.grad(loss, [x, *module.parameters()])
    return out, grads, meter.bytes


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_same_outputs_and_gradients_with_the_gelu_output_not_kept(
        dtype, approximate):
    plain, ours = plain_and_recomputing(
        act_cfg=dict(type='GELU', approximate=approximate))
    assert ours.recompute_gelu
    x, identity = torch.randn(2, 7, EMBED), torch.randn(2, 7, EMBED)
    out, grads, kept = train_step(plain, x, dtype, identity=identity)
    our_out, our_grads, our_kept = train_step(
        ours, x, dtype, identity=identity)
    torch.testing.assert_close(our_out, out, rtol=0, atol=0)
    for grad, our_grad in zip(grads, our_grads):
        assert our_grad.dtype == grad.dtype
        torch.testing.assert_close(our_grad, grad, rtol=1e-6, atol=1e-7)
    # mmcv's FFN also keeps gelu(h), 2 x 7 tokens x HIDDEN values, and under
    # autocast the low-precision copy of fc2's weight (ours casts it again).
    kept_by_mmcv_only = 2 * 7 * HIDDEN
    if dtype != torch.float32:
        kept_by_mmcv_only += HIDDEN * EMBED
    assert kept - our_kept == kept_by_mmcv_only * dtype.itemsize


@pytest.mark.parametrize('kwargs', [
    dict(ffn_drop=0.1),
    dict(layer_scale_init_value=0.5),
    dict(num_fcs=3),
    dict(act_cfg=dict(type='ReLU')),
])
def test_other_settings_are_mmcvs_ffn(kwargs):
    plain, ours = plain_and_recomputing(**kwargs)
    assert not ours.recompute_gelu
    x = torch.randn(2, 7, EMBED)
    results = []
    for module in (plain, ours):
        torch.manual_seed(1)  # the same dropout masks
        results.append(train_step(module, x))
    (out, grads, kept), (our_out, our_grads, our_kept) = results
    torch.testing.assert_close(our_out, out, rtol=0, atol=0)
    for grad, our_grad in zip(grads, our_grads):
        torch.testing.assert_close(our_grad, grad, rtol=0, atol=0)
    assert our_kept == kept


def test_sepvit_training_keeps_less_with_the_same_gradients():
    """A whole backbone: the saving is one hidden map per block."""
    torch.manual_seed(0)
    model = SepViT('lite', out_indices=(0, 1, 2, 3), drop_path_rate=0.)
    model.init_weights()
    model.train()
    x = torch.rand(2, 3, 61, 75)
    outs, grads, kept = train_step(model, x)
    for stage in model.stages:
        for block in stage.blocks:
            block.ffn.forward = types.MethodType(FFN.forward, block.ffn)
    plain_outs, plain_grads, plain_kept = train_step(model, x)
    for out, plain_out in zip(outs, plain_outs):
        torch.testing.assert_close(out, plain_out, rtol=0, atol=0)
    for grad, plain_grad in zip(grads, plain_grads):
        torch.testing.assert_close(grad, plain_grad, rtol=1e-5, atol=1e-7)
    # Tokens per stage (ceil(61/s) x ceil(75/s)) x 4C hidden, fp32.
    hidden_values = sum(2 * -(-61 // s) * -(-75 // s) * 4 * dims * depth
                        for s, dims, depth in zip(
                            model.strides, model.embed_dims, model.depths))
    assert plain_kept - kept == hidden_values * 4


def test_tracers_and_eval_mode_see_mmcvs_ops():
    plain, ours = plain_and_recomputing()
    x = torch.randn(2, 7, EMBED)
    # FLOP counters trace the module, here in training mode with gradients.
    assert flop_analyzer(ours, x).total() == flop_analyzer(plain, x).total()
    plain.eval()
    ours.eval()
    assert train_step(ours, x)[2] == train_step(plain, x)[2]
