# Copyright (c) mmsepvit contributors. All rights reserved.
import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

from mmsepvit.models import SepViT

REPO = Path(__file__).resolve().parents[2]
CONVERTER = REPO / 'tools' / 'model_converters' / 'sepvit2mmsepvit.py'

LITE = dict(embed_dims=[32, 64, 128, 256], depths=[1, 2, 6, 2])


def _load_converter():
    spec = importlib.util.spec_from_file_location('sepvit2mmsepvit',
                                                  CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def authors_lite_state_dict(dense=False):
    """Keys and shapes of the authors' SepViT-Lite (spec section 7.9).

    ImageNet (``dense=False``): blocks whose window covers the whole 224
    map have no PSA weights and no window tokens; the model ends with
    ``norm`` and a 1000-way ``head``. Dense (``dense=True``): every block
    has PSA weights, no window tokens, and ``norm_list`` output norms.
    """
    sd = {}
    dims, depths = LITE['embed_dims'], LITE['depths']
    size, in_dims = 224, 3
    for i, (c, depth) in enumerate(zip(dims, depths)):
        k = 7 if i == 0 else 3
        size = size // 4 if i == 0 else size // 2
        sd[f'patch_embeds.{i}.proj.weight'] = torch.randn(c, in_dims, k, k)
        sd[f'patch_embeds.{i}.proj.bias'] = torch.randn(c)
        sd[f'patch_embeds.{i}.norm.weight'] = torch.randn(c)
        sd[f'patch_embeds.{i}.norm.bias'] = torch.randn(c)
        sd[f'pos_block.{i}.proj.0.weight'] = torch.randn(c, 1, 3, 3)
        sd[f'pos_block.{i}.proj.0.bias'] = torch.randn(c)
        for j in range(depth):
            ws = 14 if i in (1, 2) and j % 2 else 7
            win_num = (size // ws)**2
            p = f'blocks.{i}.{j}.'
            for name, shape in [('norm1', (c, )), ('norm2', (c, )),
                                ('mlp.fc1', (4 * c, c)),
                                ('mlp.fc2', (c, 4 * c)),
                                ('attn.DSA_qkv', (3 * c, c)),
                                ('attn.proj', (c, c))]:
                sd[p + name + '.weight'] = torch.randn(*shape)
                sd[p + name + '.bias'] = torch.randn(shape[0])
            if dense or win_num > 1:
                sd[p + 'attn.PSA_qk.weight'] = torch.randn(2 * c, c)
                sd[p + 'attn.PSA_qk.bias'] = torch.randn(2 * c)
                sd[p + 'attn.win_tokens_norm.weight'] = torch.randn(c)
                sd[p + 'attn.win_tokens_norm.bias'] = torch.randn(c)
            if not dense and win_num > 1:
                sd[p + 'win_tokens'] = torch.randn(1, win_num, 1, c)
        if dense:
            sd[f'norm_list.{i}.weight'] = torch.randn(c)
            sd[f'norm_list.{i}.bias'] = torch.randn(c)
        in_dims = c
    sd['norm.weight'] = torch.randn(dims[-1])
    sd['norm.bias'] = torch.randn(dims[-1])
    if not dense:
        sd['head.weight'] = torch.randn(1000, dims[-1])
        sd['head.bias'] = torch.randn(1000)
    return sd


def _backbone_part(converted):
    return {
        k[len('backbone.'):]: v
        for k, v in converted.items() if k.startswith('backbone.')
    }


def test_imagenet_checkpoint_loads_exactly():
    authors = authors_lite_state_dict()
    converted = _load_converter().convert_sepvit({'model': authors})
    assert converted['head.fc.weight'] is authors['head.weight']
    model = SepViT(
        'lite', window_token='per_window', single_window_pwa=False)
    model.load_state_dict(_backbone_part(converted), strict=True)
    torch.testing.assert_close(
        model.stages[1].blocks[0].attn.window_token,
        authors['blocks.1.0.win_tokens'].view(16, 32 * 2))
    torch.testing.assert_close(model.norm3.weight, authors['norm.weight'])
    torch.testing.assert_close(
        model.stages[2].blocks[3].ffn.layers[0][0].weight,
        authors['blocks.2.3.mlp.fc1.weight'])


def test_imagenet_checkpoint_into_dense_model_misses_only_new_keys():
    converted = _load_converter().convert_sepvit(
        {'model': authors_lite_state_dict()})
    model = SepViT('lite', out_indices=(0, 1, 2, 3))
    result = model.load_state_dict(_backbone_part(converted), strict=False)
    # New downstream (spec 3.7): PWA of the blocks that saw one window at
    # 224 (stage 3's grouped blocks, stage 4) and stages 1-3's output norms.
    single_window_blocks = [(2, 1), (2, 3), (2, 5), (3, 0), (3, 1)]
    expected_missing = {
        f'stages.{i}.blocks.{j}.attn.{name}.{p}'
        for i, j in single_window_blocks for name in ('pwa_qk', 'pwa_norm')
        for p in ('weight', 'bias')
    } | {f'norm{i}.{p}'
         for i in range(3) for p in ('weight', 'bias')}
    assert set(result.missing_keys) == expected_missing
    # The dense model uses zero window tokens, as the authors' dense code.
    assert all(k.endswith('window_token') for k in result.unexpected_keys)


def test_dense_checkpoint_with_backbone_prefix(tmp_path):
    authors = {
        f'backbone.{k}': v
        for k, v in authors_lite_state_dict(dense=True).items()
    }
    src, dst = tmp_path / 'authors.pth', tmp_path / 'out' / 'converted.pth'
    torch.save({'state_dict': authors, 'meta': {}}, src)
    subprocess.run([sys.executable, str(CONVERTER), str(src), str(dst)],
                   check=True)
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = SepViT('lite', out_indices=(0, 1, 2, 3))
    model.load_state_dict(_backbone_part(converted), strict=True)
    torch.testing.assert_close(model.norm1.weight,
                               authors['backbone.norm_list.1.weight'])
