# Copyright (c) mmsepvit contributors. All rights reserved.
"""StageScaleHook reports what each stage receives, passes back and how far
its weights move, checked against the same quantities computed by hand."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mmsepvit.engine import StageScaleHook
from mmsepvit.models import SepViT
from mmsepvit.utils.errors import UserError


def _rms(tensor):
    return tensor.pow(2).mean().sqrt().item()


def _by_hand(backbone, image, weights):
    """Stage inputs, outputs and output gradients of one forward and
    backward pass, written out stage by stage."""
    inputs, outputs, tokens_of_stage = [], [], []
    x = image
    loss = 0
    for i, stage in enumerate(backbone.stages):
        inputs.append(_rms(x))
        tokens, hw = stage(x)
        tokens_of_stage.append(tokens)
        outputs.append(_rms(tokens.detach()))
        normed = backbone.stage_norm(i)(tokens)
        loss = loss + (normed * weights[i]).sum()
        next_map = normed if backbone.stage_norms == 'main_path' else tokens
        x = next_map.transpose(1, 2).reshape(-1, backbone.embed_dims[i], *hw)
    grads = torch.autograd.grad(loss, tokens_of_stage)
    return inputs, outputs, [_rms(g) for g in grads]


@pytest.mark.parametrize('stage_norms', ['main_path', 'outputs'])
def test_scales_and_updates_match_a_computation_by_hand(stage_norms):
    torch.manual_seed(0)
    backbone = SepViT(
        arch='lite',
        stage_norms=stage_norms,
        drop_path_rate=0.,
        out_indices=(0, 1, 2, 3))
    backbone.init_weights()
    image = torch.randn(2, 3, 64, 96)
    # A loss that weighs every output element differently.
    weights = [
        torch.randn(2, (64 // s) * (96 // s), c)
        for s, c in zip((4, 8, 16, 32), backbone.embed_dims)
    ]
    inputs, outputs, grads = _by_hand(backbone, image, weights)

    model = SimpleNamespace(backbone=backbone)
    hub = MessageHub.get_instance(f'stage_scale_{stage_norms}')
    runner = SimpleNamespace(model=model, message_hub=hub)
    hook = StageScaleHook()
    hook.before_train(runner)
    optimizer = torch.optim.SGD(backbone.parameters(), lr=0.1)
    hook.before_train_iter(runner, 0)
    before = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    loss = sum((out.flatten(2).transpose(1, 2) * w).sum()
               for out, w in zip(backbone(image), weights))
    loss.backward()
    optimizer.step()
    hook.after_train_iter(runner, 0)
    hook.after_train(runner)

    def logged(name):
        return hub.get_scalar(f'train/{name}').current()

    for i in range(4):
        assert logged(f'stage{i}_input_rms') == pytest.approx(inputs[i],
                                                              rel=1e-5)
        assert logged(f'stage{i}_output_rms') == pytest.approx(outputs[i],
                                                               rel=1e-5)
        assert logged(f'stage{i}_grad_rms') == pytest.approx(grads[i],
                                                             rel=1e-4)
        prefixes = (f'stages.{i}.', f'norm{i}.', f'norm_after_stage.{i}.')
        names = [n for n in before if n.startswith(prefixes)]
        change = sum((backbone.get_parameter(n).detach() -
                      before[n]).pow(2).sum() for n in names)
        size = sum(before[n].pow(2).sum() for n in names)
        assert logged(f'stage{i}_update') == pytest.approx(
            (change / size).sqrt().item(), rel=1e-5)
    # The layouts differ where the issue says: what stages 1-3 receive.
    if stage_norms == 'main_path':
        assert inputs[1] == pytest.approx(1, rel=0.05)  # a LayerNorm's map
    else:
        assert inputs[1] == pytest.approx(outputs[0], rel=1e-6)
    # Removed after training: a later forward records nothing.
    hook._recording, hook._scalars = True, {}
    backbone(image)
    assert hook._scalars == {}


def test_a_frozen_stage_reports_no_update():
    backbone = SepViT(arch='lite', frozen_stages=0).train()
    hub = MessageHub.get_instance('stage_scale_frozen')
    runner = SimpleNamespace(
        model=SimpleNamespace(backbone=backbone), message_hub=hub)
    hook = StageScaleHook()
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    sum(out.sum() for out in backbone(torch.randn(1, 3, 64, 64))).backward()
    hook.after_train_iter(runner, 0)
    assert 'train/stage0_update' not in hub.log_scalars
    assert hub.get_scalar('train/stage1_update').current() == 0


def test_refuses_a_model_without_a_sepvit_backbone():
    runner = SimpleNamespace(
        model=SimpleNamespace(backbone=nn.Conv2d(3, 8, 3)),
        message_hub=MessageHub.get_instance('stage_scale_conv'))
    with pytest.raises(UserError, match='backbone is a Conv2d'):
        StageScaleHook().before_train(runner)
