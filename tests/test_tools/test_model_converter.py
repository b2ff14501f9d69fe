# Copyright (c) mmsepvit contributors. All rights reserved.
import subprocess
import sys

import pytest
import torch
from authors_checkpoints import (CONVERTER, authors_whole_model,
                                 backbone_part, load_converter)
from sepvit_reference import authors_state_dict

from mmsepvit.models import SepViT

IMAGENET_MODE = dict(
    window_token='per_window', single_window_pwa=False, stage_norms='outputs')


def _run_converter(src, dst):
    result = subprocess.run(
        [sys.executable, str(CONVERTER), str(src),
         str(dst)],
        capture_output=True,
        text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_imagenet_checkpoint_loads_exactly():
    authors = authors_state_dict('lite', dense=False)
    converted, report = load_converter().convert_sepvit({'model': authors})
    assert converted['head.fc.weight'] is authors['head.weight']
    assert len(report['converted']) == len(authors)
    assert report['kept'] == report['dropped'] == []
    model = SepViT('lite', **IMAGENET_MODE)
    model.load_state_dict(backbone_part(converted), strict=True)
    torch.testing.assert_close(
        model.stages[1].blocks[0].attn.window_token,
        authors['blocks.1.0.win_tokens'].view(16, 32 * 2))
    torch.testing.assert_close(model.norm3.weight, authors['norm.weight'])
    torch.testing.assert_close(
        model.stages[2].blocks[3].ffn.layers[0][0].weight,
        authors['blocks.2.3.mlp.fc1.weight'])


def test_imagenet_checkpoint_into_dense_model_misses_only_new_keys():
    converted, _ = load_converter().convert_sepvit(
        {'model': authors_state_dict('lite', dense=False)})
    model = SepViT('lite', out_indices=(0, 1, 2, 3))
    result = model.load_state_dict(backbone_part(converted), strict=False)
    # New downstream (spec 3.7): PWA of the blocks that saw one window at
    # 224 (stage 3's grouped blocks, stage 4) and stages 1-3's norms.
    single_window_blocks = [(2, 1), (2, 3), (2, 5), (3, 0), (3, 1)]
    expected_missing = {
        f'stages.{i}.blocks.{j}.attn.{name}.{p}'
        for i, j in single_window_blocks for name in ('pwa_qk', 'pwa_norm')
        for p in ('weight', 'bias')
    } | {f'norm_after_stage.{i}.{p}'
         for i in range(3) for p in ('weight', 'bias')}
    assert set(result.missing_keys) == expected_missing
    # The dense model uses zero window tokens, as the authors' dense code.
    assert all(k.endswith('window_token') for k in result.unexpected_keys)


def test_dense_backbone_checkpoint(tmp_path):
    authors = {
        f'backbone.{k}': v
        for k, v in authors_state_dict('lite', dense=True).items()
    }
    src, dst = tmp_path / 'authors.pth', tmp_path / 'out' / 'converted.pth'
    torch.save({'state_dict': authors, 'meta': {}}, src)
    out = _run_converter(src, dst)
    assert 'Dropped 4 tensors' in out
    for key in ('backbone.norm.weight', 'backbone.head.bias'):
        assert key in out
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = SepViT('lite', out_indices=(0, 1, 2, 3))
    model.load_state_dict(backbone_part(converted), strict=True)
    torch.testing.assert_close(model.norm_after_stage[1].weight,
                               authors['backbone.norm_list.1.weight'])


# Names of the neck and head weights in the authors' mmdet 2.x / mmseg 0.x
# models, which mmdet 3 / mmseg 1 keep.
HOST_KEYS = {
    'configs/det/retinanet_sepvit_t_1x_coco.py': [
        'neck.lateral_convs.0.conv.weight', 'neck.fpn_convs.4.conv.weight',
        'bbox_head.cls_convs.3.conv.weight', 'bbox_head.retina_cls.weight',
        'bbox_head.retina_reg.bias'
    ],
    'configs/det/mask_rcnn_sepvit_t_1x_coco.py': [
        'rpn_head.rpn_conv.weight', 'rpn_head.rpn_cls.weight',
        'roi_head.bbox_head.shared_fcs.1.weight',
        'roi_head.bbox_head.fc_reg.weight',
        'roi_head.mask_head.convs.3.conv.weight',
        'roi_head.mask_head.upsample.weight',
        'roi_head.mask_head.conv_logits.bias'
    ],
    'configs/seg/upernet_sepvit_t_ade20k.py': [
        'decode_head.psp_modules.3.1.conv.weight',
        'decode_head.fpn_bottleneck.bn.running_var',
        'decode_head.conv_seg.weight', 'auxiliary_head.convs.0.conv.weight'
    ],
    'configs/seg/fpn_sepvit_t_ade20k.py': [
        'neck.lateral_convs.3.conv.weight',
        'decode_head.scale_heads.3.0.conv.weight'
    ],
}


@pytest.mark.parametrize('config', sorted(HOST_KEYS))
def test_whole_detector_and_segmentor_checkpoints(config, tmp_path):
    authors, model = authors_whole_model(config)
    assert set(HOST_KEYS[config]) <= set(authors)
    src, dst = tmp_path / 'authors.pth', tmp_path / 'converted.pth'
    torch.save({'meta': {'epoch': 12}, 'state_dict': authors}, src)
    out = _run_converter(src, dst)
    converted = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(converted, strict=True)
    state = model.state_dict()
    host = [k for k in authors if not k.startswith('backbone.')]
    for key in host:
        assert torch.equal(state[key], authors[key]), key
    torch.testing.assert_close(state['backbone.norm_after_stage.2.bias'],
                               authors['backbone.norm_list.2.bias'])
    assert f'Kept {len(host)} tensors under their own names' in out
    for group in sorted({k.split('.')[0] for k in host}):
        assert f'{group}.* (' in out
    assert 'backbone.head.weight' in out  # dropped, and said so


def test_unknown_backbone_key_is_named():
    authors = authors_state_dict('lite', dense=True)
    authors['blocks.0.0.attn.relative_position_bias_table'] = torch.zeros(1)
    with pytest.raises(KeyError, match='relative_position_bias_table'):
        load_converter().convert_sepvit(authors)


# Runs a script in a process where the host toolboxes cannot be imported.
WITHOUT_TOOLBOXES = """
import importlib.abc, runpy, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('mmpretrain', 'mmseg', 'mmdet'):
            raise ImportError(f'{name} is not installed here')
sys.meta_path.insert(0, Blocked())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.parametrize('converter', [
    CONVERTER,
    CONVERTER.parent / 'efficientnet_lite2timm.py',
])
def test_the_converters_need_no_host_toolbox(converter):
    """They convert state dicts: torch and mmengine are all they need."""
    result = subprocess.run(
        [sys.executable, '-c', WITHOUT_TOOLBOXES, str(converter), '--help'],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'usage:' in result.stdout
