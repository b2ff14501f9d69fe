# Copyright (c) mmsepvit contributors. All rights reserved.
"""The configs' models compute the authors' networks: weights in the
authors' layout, converted with tools/model_converters/sepvit2mmsepvit.py and
loaded strictly, give the outputs of an independent re-statement of the
authors' forward passes (tests/sepvit_reference.py)."""
from pathlib import Path

import pytest
import torch
from authors_checkpoints import backbone_part, convert
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmsepvit.models import StageNormLayoutError
from sepvit_reference import (authors_dense_backbone,
                              authors_imagenet_classifier, authors_state_dict)

REPO = Path(__file__).resolve().parents[2]
DENSE_CONFIGS = sorted(  # the SepViT ones, not the convnet peers
    str(p.relative_to(REPO)) for folder in ('seg', 'det')
    for p in (REPO / 'configs' / folder).glob('*sepvit*.py'))
ARCH_NAMES = dict(l='lite', t='tiny', s='small', b='base')
TOLERANCE = 1e-4  # max abs difference, fp32; the maps are LayerNorm-scaled


def _dense_backbone(config, **overrides):
    cfg = Config.fromfile(REPO / config)
    init_default_scope(cfg.default_scope)
    backbone_cfg = cfg.model.backbone
    backbone_cfg.init_cfg = None
    backbone_cfg.update(overrides)
    arch = ARCH_NAMES.get(backbone_cfg.arch[0])
    return MODELS.build(backbone_cfg).eval(), arch


def _max_abs_diff(ours, theirs):
    return max((a - b).abs().max().item() for a, b in zip(ours, theirs))


def assert_dense_backbone_matches(backbone, arch, size, seed=0):
    authors = authors_state_dict(arch, dense=True, seed=seed)
    backbone.load_state_dict(backbone_part(convert(authors)), strict=True)
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    expected = authors_dense_backbone(authors, x, arch)
    with torch.no_grad():
        outs = backbone(x)
    assert len(outs) == len(backbone.out_indices)
    expected = [expected[i] for i in backbone.out_indices]
    for out, exp in zip(outs, expected):
        assert out.shape == exp.shape
    diff = _max_abs_diff(outs, expected)
    print(f'\n{arch} dense {size}: max abs diff {diff:.2e}')
    assert diff <= TOLERANCE
    return diff


@pytest.mark.parametrize('config', DENSE_CONFIGS)
def test_every_dense_config_computes_the_authors_backbone(config):
    backbone, arch = _dense_backbone(config)
    if backbone.stage_norms == 'outputs':
        # A from-scratch config in the layout that trains better without
        # weights (docs/reports/stage_norms.md): it refuses the
        # authors' weights, and is their network once the stage norms are
        # moved back onto the main path.
        assert Config.fromfile(REPO / config).model.backbone.init_cfg is None
        authors = authors_state_dict(arch, dense=True)
        with pytest.raises(StageNormLayoutError):
            backbone.load_state_dict(backbone_part(convert(authors)))
        backbone, arch = _dense_backbone(config, stage_norms='main_path')
    assert_dense_backbone_matches(backbone, arch, (97, 131))


@pytest.mark.parametrize('size', [(224, 224), (512, 512), (800, 1344),
                                  (64, 64), (33, 17)])
def test_dense_tiny_matches_the_authors_at_any_size(size):
    backbone, arch = _dense_backbone('configs/seg/upernet_sepvit_t_ade20k.py')
    assert_dense_backbone_matches(backbone, arch, size)


def test_dense_small_matches_the_authors_at_512():
    backbone, arch = _dense_backbone('configs/seg/upernet_sepvit_s_ade20k.py')
    assert_dense_backbone_matches(backbone, arch, (512, 512))


@pytest.mark.parametrize('arch', ['lite', 'tiny', 'small', 'base'])
def test_imagenet_classifier_computes_the_authors_logits(arch):
    config = dict(
        lite='sepvit_lite_in1k', tiny='sepvit_t_in1k', small='sepvit_s_in1k',
        base='sepvit_b_in1k')[arch]
    cfg = Config.fromfile(REPO / 'configs' / 'cls' / f'{config}.py')
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model).eval()
    authors = authors_state_dict(arch, dense=False)
    model.load_state_dict(convert(authors), strict=True)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    expected = authors_imagenet_classifier(authors, x, arch)
    with torch.no_grad():
        logits = model(x, mode='tensor')
    diff = (logits - expected).abs().max().item()
    print(f'\n{arch} ImageNet logits at 224: max abs diff {diff:.2e}')
    assert diff <= TOLERANCE
    assert torch.equal(logits.argmax(1), expected.argmax(1))


def test_reference_tells_the_stage_norm_placement_apart():
    """The check that found the dense bug: with the stage norms off the main
    path, the same weights give a different network."""
    backbone, arch = _dense_backbone(
        'configs/seg/upernet_sepvit_t_ade20k.py', stage_norms='outputs')
    authors = authors_state_dict(arch, dense=True)
    # The same weights, the stage norms under the output norms' names
    # (loading refuses the other layout's).
    backbone.load_state_dict({
        k.replace('norm_after_stage.', 'norm'): v
        for k, v in backbone_part(convert(authors)).items()
    }, strict=True)
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        outs = backbone(x)
    assert _max_abs_diff(outs, authors_dense_backbone(authors, x,
                                                      arch)) > TOLERANCE


def test_imagenet_checkpoint_into_dense_model_keeps_the_authors_init(
        tmp_path):
    authors = authors_state_dict('tiny', dense=False)
    converted = convert(authors)
    checkpoint = tmp_path / 'sepvit_t_in1k.pth'
    torch.save({'state_dict': converted}, checkpoint)
    cfg = Config.fromfile(REPO / 'configs/seg/upernet_sepvit_t_ade20k.py')
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    state = backbone.state_dict()

    # The dense code has zero window tokens; the ImageNet model's final
    # norm (norm3) is the dense model's last stage norm, over the same
    # stage-4 tokens.
    loaded = {
        k.replace('norm3.', 'norm_after_stage.3.'): v
        for k, v in backbone_part(converted).items()
        if not k.endswith('window_token')
    }
    for name, value in loaded.items():
        assert torch.equal(state[name], value), name
    assert backbone.stage_norms == 'main_path'
    assert torch.equal(state['norm_after_stage.3.weight'],
                       authors['norm.weight'])

    # What the ImageNet model lacks (spec 3.7) keeps the authors' init.
    single_window_blocks = [(2, 1), (2, 3), (2, 5), (3, 0), (3, 1)]
    rest = {
        f'stages.{i}.blocks.{j}.attn.{m}.{p}'
        for i, j in single_window_blocks for m in ('pwa_qk', 'pwa_norm')
        for p in ('weight', 'bias')
    } | {
        f'norm_after_stage.{i}.{p}'
        for i in range(3) for p in ('weight', 'bias')
    }
    assert set(state) - set(loaded) == rest
    for name in rest:
        value = state[name]
        if name.endswith('bias'):
            assert torch.all(value == 0), name
        elif 'norm' in name:
            assert torch.all(value == 1), name
        else:  # trunc_normal(std=0.02), not PyTorch's kaiming-uniform
            assert value.std().item() == pytest.approx(0.02, rel=0.05), name
            assert value.mean().abs().item() < 1e-3, name
