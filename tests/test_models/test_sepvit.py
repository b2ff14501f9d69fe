# Copyright (c) mmsepvit contributors. All rights reserved.
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from mmsepvit.models import SepViT
from mmsepvit.models.utils import SeparableSelfAttention
from mmsepvit.utils import flop_analyzer

# Small enough for CPU tests, with grouped (14) windows in stages 1 and 2.
SMALL_ARCH = dict(
    embed_dims=[16, 32, 64, 128], depths=[1, 2, 2, 2], num_heads=[1, 2, 4, 8])
# The authors' ImageNet model: learned per-position window tokens, no
# pointwise attention in blocks that see a single window at 224, and no
# norms between stages.
IMAGENET_MODE = dict(
    window_token='per_window', single_window_pwa=False, stage_norms='outputs')


def count_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,expected_m', [('lite', 3.66), ('tiny', 31.18),
                                             ('small', 46.57),
                                             ('base', 82.38)])
def test_params_match_authors_imagenet_models(arch, expected_m):
    backbone = SepViT(arch, **IMAGENET_MODE)
    head = torch.nn.Linear(backbone.embed_dims[-1], 1000)
    total = (count_params(backbone) + count_params(head)) / 1e6
    assert total == pytest.approx(expected_m, rel=5e-3)


class _Classifier(torch.nn.Module):
    """Backbone -> global average pooling -> linear, as the authors'."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = SepViT(arch, **IMAGENET_MODE)
        self.head = torch.nn.Linear(self.backbone.embed_dims[-1], 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1].mean((2, 3)))


@pytest.mark.parametrize('arch,expected_g', [('tiny', 4.53), ('small', 7.48),
                                             ('base', 13.08)])
def test_flops_match_authors_count(arch, expected_g):
    model = _Classifier(arch).eval()
    flops = flop_analyzer(model, torch.rand(1, 3, 224, 224)).total() / 1e9
    assert flops == pytest.approx(expected_g, rel=2e-2)


@pytest.mark.parametrize(
    'arch,size',
    [('tiny', (224, 224)), ('lite', (512, 512)), ('lite', (800, 1333)),
     ('tiny', (97, 131)), ('tiny', (33, 33)), ('tiny', (31, 17)),
     ('lite', (1, 1))])
def test_output_shapes_and_strides(arch, size):
    model = SepViT(arch, out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, *size))
    assert isinstance(outs, tuple) and len(outs) == 4
    for out, stride, dims in zip(outs, SepViT.strides, model.embed_dims):
        assert out.shape == (1, dims, math.ceil(size[0] / stride),
                             math.ceil(size[1] / stride))
        assert torch.isfinite(out).all()


def test_imagenet_mode_at_224_and_its_size_limit():
    model = SepViT(SMALL_ARCH, **IMAGENET_MODE).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 224, 224))[0].shape == (2, 128, 7, 7)
        with pytest.raises(ValueError, match="'shared' or 'zeros'"):
            model(torch.rand(1, 3, 256, 256))
    shared = SepViT(SMALL_ARCH, window_token='shared', img_size=224).eval()
    with torch.no_grad():
        assert shared(torch.rand(1, 3, 256, 200))[0].shape == (1, 128, 8, 7)


def test_single_window_blocks_follow_the_authors():
    imagenet = SepViT('tiny', **IMAGENET_MODE)
    dense = SepViT('tiny')
    with_pwa = [[b.attn.with_pwa for b in s.blocks] for s in imagenet.stages]
    # At 224 stage 3's grouped blocks and stage 4 see one window.
    assert with_pwa == [[True], [True, True], [True, False] * 3,
                        [False, False]]
    assert all(b.attn.with_pwa for s in dense.stages for b in s.blocks)
    assert [b.attn.window_size for b in dense.stages[2].blocks] == [7, 14] * 3


@pytest.mark.parametrize('stage_norms', ['main_path', 'outputs'])
@pytest.mark.parametrize('out_indices', [
    c for r in range(1, 5) for c in itertools.combinations(range(4), r)
])
def test_every_out_indices_combination(out_indices, stage_norms):
    torch.manual_seed(0)
    model = SepViT(
        SMALL_ARCH, out_indices=out_indices, stage_norms=stage_norms).eval()
    full = SepViT(
        SMALL_ARCH, out_indices=(0, 1, 2, 3), stage_norms=stage_norms).eval()
    full.load_state_dict(model.state_dict(), strict=False)
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        outs, all_outs = model(x), full(x)
    assert len(outs) == len(out_indices)
    for out, i in zip(outs, out_indices):
        stride = SepViT.strides[i]
        assert out.shape == (1, SMALL_ARCH['embed_dims'][i], 64 // stride,
                             math.ceil(48 / stride))
        # out_indices only choose what is returned, never the network.
        torch.testing.assert_close(out, all_outs[i])
    norms = {n.rsplit('.', 1)[0] for n, _ in model.named_parameters()
             if n.startswith('norm')}
    if stage_norms == 'main_path':
        assert norms == {f'norm_after_stage.{i}' for i in range(4)}
    else:
        assert norms == {f'norm{i}' for i in out_indices}


def test_stage_norms_choose_what_the_next_stage_sees():
    torch.manual_seed(0)
    main_path = SepViT(SMALL_ARCH, out_indices=(0, 1, 2, 3)).eval()
    main_path.init_weights()
    for i in range(4):
        torch.nn.init.normal_(main_path.stage_norm(i).bias)
    outputs = SepViT(
        SMALL_ARCH, out_indices=(0, 1, 2, 3), stage_norms='outputs').eval()
    # The same weights, the norms under the other layout's names.
    weights = {
        k.replace('norm_after_stage.', 'norm'): v
        for k, v in main_path.state_dict().items()
    }
    outputs.load_state_dict(weights)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = main_path(x), outputs(x)
    # Stage 1 sees the image either way; later stages see different maps.
    torch.testing.assert_close(a[0], b[0])
    assert all((p - q).abs().max() > 0.1 for p, q in zip(a[1:], b[1:]))


def test_negative_out_indices():
    model = SepViT(SMALL_ARCH, out_indices=(-1, -4))
    assert model.out_indices == [0, 3]


@pytest.mark.parametrize('stage_norms', ['main_path', 'outputs'])
@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3])
def test_frozen_stages_keep_their_weights_and_outputs(frozen_stages,
                                                      stage_norms):
    """After an optimizer step, a frozen stage's weights (stage norm
    included) are unchanged and its output equals eval mode's, dropout and
    stochastic depth on; the stages after it learn."""
    torch.manual_seed(0)
    model = SepViT(
        SMALL_ARCH,
        out_indices=(0, 1, 2, 3),
        stage_norms=stage_norms,
        frozen_stages=frozen_stages,
        drop_rate=0.3,
        drop_path_rate=0.5)
    model.init_weights()
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x = torch.rand(2, 3, 64, 64)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if trainable:
        optimizer = torch.optim.SGD(trainable, lr=1.0)
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
        optimizer.step()
    with torch.no_grad():
        train_outs = model(x)
        eval_outs = model.eval()(x)
    for i in range(4):
        names = [
            n for n in before
            if n.startswith((f'stages.{i}.', f'norm{i}.',
                             f'norm_after_stage.{i}.'))
        ]
        changed = [
            n for n in names if not torch.equal(before[n],
                                                model.get_parameter(n))
        ]
        if i <= frozen_stages:
            assert changed == [], (i, changed)
            torch.testing.assert_close(train_outs[i], eval_outs[i])
        else:
            assert changed, i
            assert not torch.allclose(train_outs[i], eval_outs[i])


@pytest.mark.parametrize('norm_eval', [True, False])
def test_norm_eval_freezes_batch_norm_statistics(norm_eval):
    """SepViT's own norms are LayerNorms; what norm_eval keeps in eval mode
    is BatchNorm a user's model adds (a SyncBN converted for CPU): its
    running statistics stay as they were over a training forward."""
    model = SepViT(SMALL_ARCH, norm_eval=norm_eval)
    model.stages[1].pos_block.proj = torch.nn.Sequential(
        model.stages[1].pos_block.proj, torch.nn.BatchNorm2d(32))
    batch_norm = model.stages[1].pos_block.proj[1]
    model.train()
    model(torch.rand(2, 3, 64, 64) * 5)
    unchanged = torch.equal(batch_norm.running_mean, torch.zeros(32))
    assert unchanged == norm_eval
    assert model.stages[0].blocks[0].attn.qkv.training


def test_with_cp_gives_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = SepViT(SMALL_ARCH, out_indices=(0, 1, 2, 3), drop_path_rate=0.)
    plain.init_weights()
    ckpt = SepViT(
        SMALL_ARCH, out_indices=(0, 1, 2, 3), drop_path_rate=0., with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    assert all(b.with_cp for s in ckpt.stages for b in s.blocks)
    x = torch.rand(2, 3, 61, 75)
    results = []
    for model in (plain, ckpt):
        model.train()
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
        results.append(([o.detach() for o in outs],
                        {n: p.grad.clone()
                         for n, p in model.named_parameters()}))
    for a, b in zip(results[0][0], results[1][0]):
        torch.testing.assert_close(a, b)
    assert results[0][1].keys() == results[1][1].keys()
    for name, grad in results[0][1].items():
        torch.testing.assert_close(grad, results[1][1][name], msg=name)


def test_pretrained_init_with_prefix(tmp_path):
    source = SepViT(SMALL_ARCH, out_indices=(0, 1, 2, 3))
    source.init_weights()
    checkpoint = tmp_path / 'classifier.pth'
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.rand(10, 128)
    torch.save({'state_dict': state, 'meta': {}}, checkpoint)

    model = SepViT(
        SMALL_ARCH,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(
            type='Pretrained', checkpoint=str(checkpoint),
            prefix='backbone.'))
    model.init_weights()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, msg=name)


def test_default_init_follows_the_authors():
    model = SepViT(SMALL_ARCH)
    model.init_weights()
    cpe = model.stages[1].pos_block.proj
    # Depthwise conv: fan-out is k*k*out/groups = 9 in the authors' init.
    assert cpe.weight.std().item() == pytest.approx(
        math.sqrt(2 / 9), rel=0.3)
    assert torch.all(cpe.bias == 0)
    qkv = model.stages[1].blocks[0].attn.qkv
    assert qkv.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.all(qkv.bias == 0)


def test_layer_depth_is_monotonic_and_in_range():
    model = SepViT(SMALL_ARCH, out_indices=(0, 1, 2, 3))
    num_layers = sum(SMALL_ARCH['depths']) + 2
    depths = [
        model.get_layer_depth('backbone.' + name, 'backbone.')
        for name, _ in model.named_parameters()
    ]
    assert all(n == num_layers for _, n in depths)
    assert all(0 <= d < num_layers - 1 for d, _ in depths)
    assert model.get_layer_depth('backbone.stages.0.patch_embed.norm.weight',
                                 'backbone.')[0] == 0
    assert model.get_layer_depth('head.fc.weight',
                                 'backbone.')[0] == num_layers - 1
    block_depths = [
        model.get_layer_depth(f'stages.{i}.blocks.{j}.attn.qkv.weight')[0]
        for i, depth in enumerate(SMALL_ARCH['depths'])
        for j in range(depth)
    ]
    assert block_depths == list(range(1, num_layers - 1))


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(arch='huge'), ValueError, "'lite'"),
    (dict(arch=dict(embed_dims=[8] * 4, depths=[1] * 4)), ValueError,
     'num_heads'),
    (dict(arch=dict(embed_dims=[8, 16, 30, 64], depths=[1] * 4,
                    num_heads=[1, 2, 4, 8])), ValueError, 'divisible'),
    (dict(arch=SMALL_ARCH, out_indices=(0, 4)), ValueError, '0..3'),
    (dict(arch=SMALL_ARCH, out_indices=()), ValueError, 'out_indices'),
    (dict(arch=SMALL_ARCH, out_indices=(0, 0)), ValueError,
     r'stage twice.*\(0,\)'),
    (dict(arch=SMALL_ARCH, out_indices=(3, 1, -1)), ValueError,
     r'stage twice.*\(1, 3\)'),
    (dict(arch=SMALL_ARCH, frozen_stages=4), ValueError, '-1'),
    (dict(arch=SMALL_ARCH, frozen_stages=-2), ValueError, '-1'),
    (dict(arch=SMALL_ARCH, window_token='learned'), ValueError, 'per_window'),
    (dict(arch=SMALL_ARCH, stage_norms='after'), ValueError, 'main_path'),
    (dict(arch=SMALL_ARCH, frozen_stages=True), ValueError, 'frozen_stages'),
    (dict(arch=SMALL_ARCH, drop_path_rate=1.0), ValueError, r'\[0, 1\)'),
    (dict(arch=SMALL_ARCH, attn_drop_rate=1.5), ValueError, r'\[0, 1\)'),
    # PyTorch's own check.
    (dict(arch=SMALL_ARCH, drop_rate=-0.1), ValueError, 'dropout probability'),
    (dict(arch=SMALL_ARCH, out_indices=True), ValueError, 'out_indices'),
    (dict(arch=SMALL_ARCH, window_sizes=[[7]] * 4), ValueError, 'depth'),
])
def test_bad_arguments_fail_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        SepViT(**kwargs)


@pytest.mark.parametrize('shape', [(3, 64, 64), (1, 1, 3, 64, 64),
                                   (1, 4, 64, 64)])
def test_bad_inputs_fail_clearly(shape):
    model = SepViT(SMALL_ARCH)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        model(torch.rand(*shape))


def _reference_separable_attention(attn, x, hw_shape):
    """The authors' dense-code dataflow, one window at a time."""
    H, W = hw_shape
    B, _, C = x.shape
    ws, h = attn.window_size, attn.num_heads
    d = C // h
    gh, gw = math.ceil(H / ws), math.ceil(W / ws)
    padded = F.pad(x.view(B, H, W, C), (0, 0, 0, gw * ws - W, 0, gh * ws - H))
    feats, tokens = [], []
    for r in range(gh):
        for c in range(gw):
            win = padded[:, r * ws:(r + 1) * ws, c * ws:(c + 1) * ws]
            t = torch.cat([torch.zeros(B, 1, C), win.reshape(B, -1, C)], 1)
            t = attn.norm(t)
            q, k, v = attn.qkv(t).view(B, -1, 3, h, d).permute(2, 0, 3, 1, 4)
            a = ((q @ k.transpose(-2, -1)) * d**-0.5).softmax(-1) @ v
            a = a.transpose(1, 2).reshape(B, -1, C) + t
            tokens.append(a[:, 0])
            feats.append(a[:, 1:])
    tokens = torch.stack(tokens, 1)  # B, nw, C
    feats = torch.stack(feats, 1)  # B, nw, M, C
    qk = attn.pwa_qk(F.gelu(attn.pwa_norm(tokens)))
    q, k = qk.view(B, -1, 2, h, d).permute(2, 0, 3, 1, 4)
    weights = ((q @ k.transpose(-2, -1)) * d**-0.5).softmax(-1)  # B,h,nw,nw
    out = torch.zeros_like(feats)
    for head in range(h):
        sl = slice(head * d, (head + 1) * d)
        out[..., sl] = torch.einsum('bnm,bmsc->bnsc', weights[:, head],
                                    feats[..., sl])
    out = out + feats
    grid = out.view(B, gh, gw, ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    grid = grid.reshape(B, gh * ws, gw * ws, C)[:, :H, :W]
    return attn.proj(grid.reshape(B, H * W, C))


@pytest.mark.parametrize('hw_shape,window_size', [((14, 14), 7),
                                                  ((9, 17), 7), ((5, 4), 7),
                                                  ((15, 30), 14)])
def test_separable_attention_matches_the_authors_dataflow(
        hw_shape, window_size):
    torch.manual_seed(0)
    attn = SeparableSelfAttention(32, 4, window_size).eval()
    for p in attn.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, hw_shape[0] * hw_shape[1], 32)
    with torch.no_grad():
        torch.testing.assert_close(
            attn(x, hw_shape),
            _reference_separable_attention(attn, x, hw_shape),
            rtol=1e-4,
            atol=1e-4)


def test_single_window_block_without_pwa_is_global_attention():
    torch.manual_seed(0)
    attn = SeparableSelfAttention(
        32, 4, 7, input_resolution=(7, 7), single_window_pwa=False).eval()
    x = torch.randn(2, 49, 32)
    with torch.no_grad():
        normed = attn.norm(x)
        q, k, v = attn.qkv(normed).view(2, 49, 3, 4, 8).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * 8**-0.5).softmax(-1) @ v
        ref = attn.proj(a.transpose(1, 2).reshape(2, 49, 32) + normed)
        torch.testing.assert_close(attn(x, (7, 7)), ref)
    assert not hasattr(attn, 'pwa_qk')


def test_layer_wise_lr_decay_with_mmpretrain():
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='mmsepvit.SepViT', arch=SMALL_ARCH),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=4, in_channels=128)))
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            constructor='LearningRateDecayOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(layer_decay_rate=0.5)))
    names = {id(p): n for n, p in model.named_parameters()}
    by_name = {
        names[id(param)]: group['lr_scale']
        for group in optim_wrapper.optimizer.param_groups
        for param in group['params']
    }
    num_layers = sum(SMALL_ARCH['depths']) + 2
    assert by_name['head.fc.weight'] == 1.0
    assert by_name['backbone.stages.0.patch_embed.projection.weight'] == \
        pytest.approx(0.5**(num_layers - 1))
    assert by_name['backbone.stages.3.blocks.1.attn.qkv.weight'] == \
        pytest.approx(0.5)


def test_a_checkpoint_of_the_other_stage_norm_layout_is_refused():
    from mmsepvit.models import StageNormLayoutError
    torch.manual_seed(0)
    main_path = SepViT(SMALL_ARCH, out_indices=(0, 1, 2, 3))
    outputs = SepViT(
        SMALL_ARCH, out_indices=(0, 1, 2, 3), stage_norms='outputs')
    with pytest.raises(StageNormLayoutError, match="stage_norms='main_path'"):
        outputs.load_state_dict(main_path.state_dict(), strict=False)
    with pytest.raises(StageNormLayoutError, match="stage_norms='outputs'"):
        main_path.load_state_dict(outputs.state_dict(), strict=False)
    # The authors' hand-off: an ImageNet model (its final norm alone) into
    # the dense one; the norm and every weight they share load.
    imagenet = SepViT(SMALL_ARCH, **IMAGENET_MODE)
    torch.nn.init.normal_(imagenet.norm3.weight)
    main_path.load_state_dict(imagenet.state_dict(), strict=False)
    assert torch.equal(main_path.norm_after_stage[3].weight,
                       imagenet.norm3.weight)


@pytest.mark.slow
def test_the_layout_is_checked_where_users_load_checkpoints(
        seg_checkpoint, shapes_workspace):
    """A seg demo checkpoint ('main_path') given to the same config with
    stage_norms='outputs': through Pretrained init and tools/test.py."""
    from cli_helpers import NO_WORKERS, SEG_DEMO, TEST, TRAIN, run_tool
    from mmengine.config import Config

    from mmsepvit.apis import build_model
    from mmsepvit.models import StageNormLayoutError
    cfg = Config.fromfile(SEG_DEMO)
    cfg.model.backbone.update(
        stage_norms='outputs',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(seg_checkpoint),
            prefix='backbone.'))
    with pytest.raises(StageNormLayoutError, match='trained on normalised'):
        build_model(cfg).init_weights()
    for args in ([TEST, SEG_DEMO, seg_checkpoint, '--cfg-options'],
                 [TRAIN, SEG_DEMO, '--cfg-options',
                  f'load_from={seg_checkpoint}']):
        code, out = run_tool(
            [*args, 'model.backbone.stage_norms=outputs', *NO_WORKERS],
            shapes_workspace)
        assert code == 1, out[-2000:]
        assert ("Error: This checkpoint was trained with "
                "stage_norms='main_path'") in out and 'Traceback' not in out
        assert 'Iter(train)' not in out


def test_the_fit_check_reads_a_checkpoint_as_the_model_loads_it():
    """Per-window tokens of another input size are resampled on load, so the
    strict fit check (load_from, --resume, tools/test.py) accepts them; a
    model of another width is still refused with both shapes named."""
    from mmsepvit.utils import CheckpointMismatchError, check_state_dict_fits
    at_192 = SepViT(SMALL_ARCH, img_size=192, **IMAGENET_MODE)
    at_224 = SepViT(SMALL_ARCH, img_size=224, **IMAGENET_MODE)
    tokens = [k for k, v in at_192.state_dict().items()
              if k.endswith('window_token')
              and v.shape != at_224.state_dict()[k].shape]
    assert tokens
    check_state_dict_fits(at_224, at_192.state_dict(), 'A checkpoint at 192')
    at_224.load_state_dict(at_192.state_dict())
    wider = SepViT(dict(SMALL_ARCH, embed_dims=[16, 32, 64, 256]),
                   img_size=224, **IMAGENET_MODE)
    with pytest.raises(CheckpointMismatchError, match=r'\[128, .*\[256, '):
        check_state_dict_fits(wider, at_224.state_dict(), 'A checkpoint')
