# Copyright (c) mmsepvit contributors. All rights reserved.
"""Autocast (bfloat16 on CPU, bfloat16 and float16 on a GPU) against
float32, and torch.compile: one graph without breaks, for any padding, equal
to eager (inference and a training step; Inductor's kernels on a GPU)."""
import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

from mmsepvit.models import SepViT
from mmsepvit.models.utils import SeparableSelfAttention
from precision_helpers import AUTOCAST_TOLERANCE, relative_error

# The devices and autocast dtypes users meet: CPU autocast runs bfloat16.
AUTOCAST = [
    ('cpu', torch.bfloat16),
    pytest.param('cuda', torch.bfloat16, marks=pytest.mark.cuda),
    pytest.param('cuda', torch.float16, marks=pytest.mark.cuda),
]
DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)]

DENSE = dict(
    window_token='zeros',
    single_window_pwa=True,
    stage_norms='main_path',
    out_indices=(0, 1, 2, 3))
IMAGENET = dict(img_size=64)
# Small, but with a grouped block (stage 2, block 1) and all four stages.
SMALL_ARCH = dict(
    embed_dims=[16, 32, 64, 128], depths=[1, 2, 1, 1], num_heads=[1, 2, 4, 8])


@pytest.mark.parametrize('device,dtype', AUTOCAST)
@pytest.mark.parametrize('mode', ['imagenet', 'dense'])
@pytest.mark.parametrize('arch', ['lite', 'tiny', 'small', 'base'])
def test_autocast_forward_is_close_to_fp32(arch, mode, device, dtype):
    torch.manual_seed(0)
    model = SepViT(arch=arch, **(IMAGENET if mode == 'imagenet' else DENSE))
    model.init_weights()
    model.to(device).eval()
    dtypes = []
    model.stages[0].blocks[0].attn.qkv.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    x = torch.randn(2, 3, 64, 64, device=device)
    with torch.no_grad():
        references = model(x)
        with torch.autocast(device, dtype=dtype):
            outputs = model(x)
    # The products ran in the low precision (the outputs' dtype depends on
    # the device: CUDA autocast runs LayerNorm, the last op, in fp32).
    assert dtypes == [torch.float32, dtype]
    assert all(torch.isfinite(out).all() for out in outputs)
    assert relative_error(outputs, references) < AUTOCAST_TOLERANCE


@pytest.mark.parametrize('device', DEVICES)
def test_fp16_attention_survives_scores_beyond_fp16_range(device):
    """The authors' forward multiplied q by k in fp16 (``auto_fp16``); here
    both attentions are fused ``scaled_dot_product_attention`` calls (on a
    GPU: its fused kernels)."""
    torch.manual_seed(0)
    attention = SeparableSelfAttention(64, num_heads=2, window_size=7)
    attention.to(device)
    with torch.no_grad():
        attention.qkv.weight.mul_(100)  # scores of 1e4, products of 1e5
        x = torch.randn(2, 14 * 14, 64, device=device)
        reference = attention(x, (14, 14))
        q, k, _ = attention.qkv(attention.norm(x)).half().chunk(3, dim=-1)
        # The plain fp16 product of queries and keys overflows ...
        assert not torch.isfinite(q @ k.transpose(1, 2)).all()
        output = attention.half()(x.half(), (14, 14))
    # ... the attention does not.
    assert torch.isfinite(output).all()
    assert relative_error([output], [reference]) < 5e-2


def _compile_and_compare(model, inputs):
    """Run ``model`` compiled (whole graph, dynamic sizes) and eager on each
    input; return the number of graphs dynamo made.

    The captured graph runs on the eager backend: what the tests check is
    the capture (no breaks, no size specialised); Inductor would compile
    its kernels for minutes on a 2-core CPU.
    """
    counter = CompileCounterWithBackend('eager')
    compiled = torch.compile(
        model, backend=counter, fullgraph=True, dynamic=True)
    for x in inputs:
        with torch.no_grad():
            outputs, references = compiled(x), model(x)
        for out, ref in zip(outputs, references):
            torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    return counter.frame_count


@pytest.mark.slow
def test_backbone_compiles_once_for_any_padding_and_batch():
    torch._dynamo.reset()
    torch.manual_seed(0)
    dense = SepViT(arch=SMALL_ARCH, **DENSE).eval()
    # Both sizes split every stage into several windows and pad the stages
    # by different amounts (257x301 pads every stage, 320x352 only some).
    sizes = [torch.randn(2, 3, 257, 301), torch.randn(2, 3, 320, 352)]
    assert _compile_and_compare(dense, sizes) == 1

    imagenet = SepViT(arch=SMALL_ARCH, window_token='shared').eval()
    batches = [torch.randn(2, 3, 224, 224), torch.randn(3, 3, 224, 224)]
    assert _compile_and_compare(imagenet, batches) == 1


@pytest.mark.cuda
@pytest.mark.slow
def test_inductor_kernels_equal_eager_on_gpu():
    """What ``--compile`` runs on a GPU: Inductor's generated kernels (they
    sum in another order than eager's: a looser tolerance) on an input that
    pads every stage."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    dense = SepViT(arch=SMALL_ARCH, **DENSE).cuda().eval()
    x = torch.randn(2, 3, 257, 301, device='cuda')
    compiled = torch.compile(dense, fullgraph=True)
    with torch.no_grad():
        outputs, references = compiled(x), dense(x)
    for out, ref in zip(outputs, references):
        torch.testing.assert_close(out, ref, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_training_step_compiles_whole_with_eager_gradients():
    """What ``--compile`` runs in training: the backward of the MLP's
    autograd Function (GELU recomputed) included."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = SepViT(
        arch=dict(SMALL_ARCH, depths=[1, 1, 1, 1]), drop_path_rate=0., **DENSE)
    model.init_weights()
    model.train()
    x = torch.randn(2, 3, 97, 131)
    counter = CompileCounterWithBackend('eager')
    compiled = torch.compile(
        model, backend=counter, fullgraph=True, dynamic=True)
    gradients = []
    for forward in (compiled, model):
        loss = sum(out.square().mean() for out in forward(x))
        gradients.append(torch.autograd.grad(loss, list(model.parameters())))
    assert counter.frame_count == 1
    for compiled_grad, eager_grad in zip(*gradients):
        torch.testing.assert_close(compiled_grad, eager_grad)
