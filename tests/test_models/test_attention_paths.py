# Copyright (c) mmsepvit contributors. All rights reserved.
"""The attention's two computations: which one runs in each setting, equal
outputs and gradients, and empty batches through every path."""
import pytest
import torch

from mmsepvit.models import SepViT
from mmsepvit.models.utils import separable_attention
from mmsepvit.models.utils.separable_attention import (attention,
                                                       attention_path)
from precision_helpers import AUTOCAST_TOLERANCE, relative_error

DENSE = dict(
    window_token='zeros',
    single_window_pwa=True,
    stage_norms='main_path',
    out_indices=(0, 1, 2, 3))
IMAGENET = dict(img_size=64, out_indices=(0, 1, 2, 3))
# Small, but with a grouped block (stage 2, block 1) and all four stages.
SMALL_ARCH = dict(
    embed_dims=[16, 32, 64, 128], depths=[1, 2, 1, 1], num_heads=[1, 2, 4, 8])


def probe(requires_grad=True):
    return torch.zeros(1, 1, 2, 4, requires_grad=requires_grad)


@pytest.fixture(params=['amx', 'no_amx'])
def cpu_kind(request, monkeypatch):
    """Both kinds of CPU, whichever this one is: with AMX bf16 tiles and
    without."""
    has_amx = request.param == 'amx'
    monkeypatch.setattr(separable_attention, 'cpu_has_amx_bf16',
                        lambda: has_amx)
    return has_amx


def test_the_products_run_on_cpu_in_low_precision_only(cpu_kind):
    """Products where a low-precision backward follows; in low-precision
    inference only without AMX."""
    inference = 'fused' if cpu_kind else 'products'
    q = probe()
    assert attention_path(q, q, q) == 'fused'  # float32 training
    with torch.no_grad():
        assert attention_path(q, q, q) == 'fused'  # float32 inference
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert attention_path(q, q, q) == 'products'
        with torch.inference_mode():
            assert attention_path(q, q, q) == inference
        with torch.no_grad():
            assert attention_path(q, q, q) == inference
        frozen = probe(requires_grad=False)  # no backward through it
        assert attention_path(frozen, frozen, frozen) == inference
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=False):
        assert attention_path(q, q, q) == 'fused'
    low = probe().bfloat16()
    assert attention_path(low, low, low) == 'products'  # a bf16 model
    with torch.no_grad():
        assert attention_path(low, low, low) == inference
    half = probe(requires_grad=False).half()
    assert attention_path(half, half, half) == 'products'  # AMX: bf16 only


def test_the_capability_is_read_from_the_cpu_flags(monkeypatch):
    from mmsepvit.utils import cpu_features
    monkeypatch.setattr(cpu_features, 'cpu_flags',
                        lambda: frozenset({'avx512f', 'amx_bf16'}))
    assert cpu_features.cpu_has_amx_bf16()
    monkeypatch.setattr(cpu_features, 'cpu_flags',
                        lambda: frozenset({'avx512f', 'avx512_bf16'}))
    assert not cpu_features.cpu_has_amx_bf16()


@pytest.mark.cuda
def test_cuda_keeps_the_fused_kernel():
    q = probe().cuda()
    with torch.autocast('cuda', dtype=torch.bfloat16):
        assert attention_path(q, q, q) == 'fused'
    low = q.detach().bfloat16().requires_grad_()
    assert attention_path(low, low, low) == 'fused'


@pytest.mark.parametrize('values', [8, 24], ids=['dwa', 'pwa'])
def test_the_products_equal_the_fused_kernel(values, monkeypatch):
    """In float32, where both can run: outputs and gradients; PWA's values
    are wider than its queries (a window's tokens per head)."""
    torch.manual_seed(0)
    inputs = [
        torch.randn(2, 3, 5, 8, requires_grad=True),
        torch.randn(2, 3, 5, 8, requires_grad=True),
        torch.randn(2, 3, 5, values, requires_grad=True)
    ]
    fused = torch.nn.functional.scaled_dot_product_attention(*inputs)
    fused_grads = torch.autograd.grad(fused.square().sum(), inputs)
    monkeypatch.setattr(separable_attention, 'attention_path',
                        lambda *args: 'products')
    products = attention(*inputs)
    grads = torch.autograd.grad(products.square().sum(), inputs)
    torch.testing.assert_close(products, fused, rtol=1e-5, atol=1e-5)
    for grad, fused_grad in zip(grads, fused_grads):
        torch.testing.assert_close(grad, fused_grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('length', [50, 197], ids=['window', 'grouped'])
def test_the_low_precision_softmax_rounds_the_float_one_once(length):
    """The products' softmax runs in bf16 on bf16 scores: it accumulates in
    float inside, so its output is float32's rounded once (within one bf16
    step, 2**-7), whatever the sequence length."""
    torch.manual_seed(0)
    scores = (torch.randn(64, length) * 5).bfloat16()
    low = scores.softmax(-1)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(
        low.float(), scores.float().softmax(-1), rtol=2**-7, atol=0)


@pytest.mark.parametrize('mode', ['imagenet', 'dense'])
def test_bf16_training_on_the_products_is_close_to_fp32(mode, monkeypatch):
    """A bf16 training step (the products) against float32 (the fused
    kernel): outputs and the weights' gradient within bf16's tolerance;
    the same step with the fused kernel forced agrees as closely."""
    torch.manual_seed(0)
    # No drop path: the steps compared must draw nothing at random.
    model = SepViT(
        arch=SMALL_ARCH,
        drop_path_rate=0.,
        **(IMAGENET if mode == 'imagenet' else DENSE))
    model.init_weights()
    x = torch.randn(2, 3, 64, 64)

    def step(dtype):
        model.zero_grad()
        low = dtype != torch.float32
        with torch.autocast('cpu', dtype=dtype, enabled=low):
            outputs = model(x)
        sum(out.float().square().mean() for out in outputs).backward()
        # The gradient as one vector: some weights' own gradients are ~0.
        return ([out.detach().float() for out in outputs],
                [torch.cat([p.grad.flatten() for p in model.parameters()])])

    paths = []
    monkeypatch.setattr(
        separable_attention, 'attention_path',
        lambda *args, original=attention_path: paths.append(
            original(*args)) or paths[-1])
    outputs, grads = step(torch.float32)
    assert set(paths) == {'fused'}
    paths.clear()
    low_outputs, low_grads = step(torch.bfloat16)
    assert set(paths) == {'products'}
    assert relative_error(low_outputs, outputs) < AUTOCAST_TOLERANCE
    gradient_error = relative_error(low_grads, grads)
    assert gradient_error < 2 * AUTOCAST_TOLERANCE

    monkeypatch.setattr(separable_attention, 'attention_path',
                        lambda *args: 'fused')
    fused_outputs, fused_grads = step(torch.bfloat16)
    assert relative_error(fused_outputs, outputs) < AUTOCAST_TOLERANCE
    assert relative_error(fused_grads, grads) < 2 * AUTOCAST_TOLERANCE


@pytest.mark.parametrize('mode', ['imagenet', 'dense'])
def test_bf16_inference_on_either_path_is_close_to_fp32(
        mode, cpu_kind, monkeypatch):
    """bf16 inference takes the fused kernel on a CPU with AMX and the
    products on one without; each is within bf16's tolerance of float32."""
    torch.manual_seed(0)
    model = SepViT(
        arch=SMALL_ARCH, **(IMAGENET if mode == 'imagenet' else DENSE))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    paths = []
    monkeypatch.setattr(
        separable_attention, 'attention_path',
        lambda *args, original=attention_path: paths.append(
            original(*args)) or paths[-1])
    with torch.no_grad():
        references = model(x)
        paths.clear()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outputs = model(x)
    assert set(paths) == {'fused' if cpu_kind else 'products'}
    assert relative_error([o.float() for o in outputs],
                          references) < AUTOCAST_TOLERANCE


@pytest.mark.parametrize('setting',
                         ['eval', 'eval_bf16', 'train', 'train_bf16'])
@pytest.mark.parametrize('mode', ['imagenet', 'dense'])
def test_an_empty_batch_gives_empty_maps(mode, setting, cpu_kind):
    """What a detector's empty RoI stage or a filtered batch hands on, on
    every path."""
    torch.manual_seed(0)
    model = SepViT(arch=SMALL_ARCH, **(IMAGENET if mode == 'imagenet' else
                                       DENSE))
    model.init_weights()
    training = setting.startswith('train')
    model.train(training)
    x = torch.randn(0, 3, 64, 64, requires_grad=training)
    with torch.set_grad_enabled(training), torch.autocast(
            'cpu', dtype=torch.bfloat16, enabled=setting.endswith('bf16')):
        outputs = model(x)
    assert [tuple(out.shape) for out in outputs] == [
        (0, 16, 16, 16), (0, 32, 8, 8), (0, 64, 4, 4), (0, 128, 2, 2)
    ]
    if training:
        sum(out.float().sum() for out in outputs).backward()
        assert x.grad.shape == x.shape


def test_the_choice_compiles_into_one_graph(monkeypatch):
    """torch.compile takes the CPU capability as a constant (it cannot
    trace the read of /proc/cpuinfo): bf16 inference is one graph, also
    where nothing has read the capability before the model is built."""
    from mmsepvit.utils import cpu_features
    monkeypatch.setattr(cpu_features, '_flags', None)
    torch._dynamo.reset()
    model = SepViT(arch=SMALL_ARCH, **DENSE).eval()
    compiled = torch.compile(model, fullgraph=True, backend='eager')
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outputs = compiled(torch.randn(1, 3, 64, 64))
    assert [out.shape[1] for out in outputs] == [16, 32, 64, 128]
