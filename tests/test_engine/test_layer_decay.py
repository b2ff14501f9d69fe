# Copyright (c) mmsepvit contributors. All rights reserved.
"""LayerDecayOptimWrapperConstructor in mmpretrain, mmseg and mmdet
configs: each parameter's learning rate and weight decay."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmsepvit.apis import build_model

REPO = Path(__file__).resolve().parents[2]
BASE_LR, WEIGHT_DECAY, RATE = 1e-3, 0.05, 0.8

# A config per host toolbox, and a module outside the backbone whose
# learning rate a custom key multiplies by 10 on top of the decay.
CONFIGS = {
    'configs/cls/sepvit_t_in1k.py': 'head',
    'configs/seg/upernet_sepvit_t_ade20k.py': 'decode_head',
    'configs/det/mask_rcnn_sepvit_t_1x_coco.py': 'neck',
}


def decayed_optimizer(config, **paramwise):
    cfg = Config.fromfile(str(REPO / config))
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)  # in the config's scope: the host's registry
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(
                type='AdamW', lr=BASE_LR, weight_decay=WEIGHT_DECAY),
            constructor='mmsepvit.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=paramwise))
    lrs, decays = {}, {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[param] = group['lr']
            decays[param] = group['weight_decay']
    return model, lrs, decays


@pytest.mark.parametrize('config', sorted(CONFIGS))
def test_learning_rates_decay_block_by_block(config):
    boosted = CONFIGS[config]
    model, lrs, decays = decayed_optimizer(
        config,
        layer_decay_rate=RATE,
        norm_decay_mult=0.,
        custom_keys={boosted: dict(lr_mult=10.)})
    backbone = model.backbone
    assert len(lrs) == sum(p.requires_grad for p in model.parameters())

    # Counted out module by module: the stem is layer 0, the blocks 1..N in
    # order, everything after the backbone layer N + 1, the last one.
    num_layers = sum(len(stage.blocks) for stage in backbone.stages) + 2
    expected = {}

    def assign(module, layer):
        for param in module.parameters():
            expected[param] = BASE_LR * RATE**(num_layers - 1 - layer)

    layer = 0
    for index, stage in enumerate(backbone.stages):
        assign(stage.patch_embed, layer)
        for block_index, block in enumerate(stage.blocks):
            layer += 1
            assign(block, layer)
            if block_index == 0:
                assign(stage.pos_block, layer)  # used after block 0
        assign(backbone.stage_norm(index) or stage.blocks[-1], layer)
    for name, child in model.named_children():
        if name != 'backbone':
            assign(child, num_layers - 1)
    for param in getattr(model, boosted).parameters():
        expected[param] *= 10
    assert set(expected) == set(lrs)
    for name, param in model.named_parameters():
        assert lrs[param] == pytest.approx(expected[param]), name

    stem_lr = lrs[next(backbone.stages[0].patch_embed.parameters())]
    assert stem_lr == pytest.approx(BASE_LR * RATE**(num_layers - 1))

    # Weight decay: none on norms, the base one on the rest; a custom key
    # replaces the norm rule for its module (mmengine's precedence).
    boosted_params = set(getattr(model, boosted).parameters())
    norms = {
        p
        for m in model.modules() if 'Norm' in type(m).__name__
        for p in m.parameters(recurse=False) if p not in boosted_params
    }
    assert norms
    for name, param in model.named_parameters():
        assert decays[param] == (0. if param in norms else WEIGHT_DECAY), name


def test_bad_rates_and_models_are_refused():
    with pytest.raises(ValueError, match=r'layer_decay_rate .* \(0, 1\]'):
        decayed_optimizer('configs/seg/upernet_sepvit_t_ade20k.py',
                          layer_decay_rate=1.5)
    from torch import nn
    no_depths = nn.Module()
    no_depths.backbone = nn.Linear(2, 2)
    with pytest.raises(TypeError, match='backbone has get_layer_depth'):
        build_optim_wrapper(
            no_depths,
            dict(
                optimizer=dict(type='SGD', lr=0.1),
                constructor='mmsepvit.LayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.9)))
