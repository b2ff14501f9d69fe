# Copyright (c) mmsepvit contributors. All rights reserved.
"""Convert a checkpoint of the authors' SepViT code to mmsepvit's layout.

Handles both the ImageNet checkpoints (``{'model': state_dict}``, with a
``head``) and the detection / segmentation ones (``{'state_dict': ...}``,
keys under ``backbone.``). The result is an mmpretrain ``ImageClassifier``
state dict: ``backbone.*`` (plus ``head.fc.*`` when the source has a head),
so it serves ``tools/test.py`` on a classification config and
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` in
any config.

    python tools/model_converters/sepvit2mmsepvit.py SRC DST
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict

import torch

# (pattern over the authors' key, replacement in mmsepvit's backbone)
_RULES = [
    (r'^patch_embeds\.(\d+)\.proj\.', r'stages.\1.patch_embed.projection.'),
    (r'^patch_embeds\.(\d+)\.norm\.', r'stages.\1.patch_embed.norm.'),
    (r'^pos_block\.(\d+)\.proj\.0\.', r'stages.\1.pos_block.proj.'),
    (r'^blocks\.(\d+)\.(\d+)\.norm1\.', r'stages.\1.blocks.\2.attn.norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.norm2\.', r'stages.\1.blocks.\2.ffn_norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.mlp\.fc1\.',
     r'stages.\1.blocks.\2.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.(\d+)\.mlp\.fc2\.', r'stages.\1.blocks.\2.ffn.layers.1.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.DSA_qkv\.', r'stages.\1.blocks.\2.attn.qkv.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.PSA_qk\.',
     r'stages.\1.blocks.\2.attn.pwa_qk.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.win_tokens_norm\.',
     r'stages.\1.blocks.\2.attn.pwa_norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.proj\.', r'stages.\1.blocks.\2.attn.proj.'),
    (r'^blocks\.(\d+)\.(\d+)\.win_tokens$',
     r'stages.\1.blocks.\2.attn.window_token'),
    (r'^norm_list\.(\d+)\.', r'norm\1.'),
]


def _unwrap(checkpoint: dict) -> dict:
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict()
    for key, value in checkpoint.items():
        for prefix in ('module.', 'backbone.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    return state_dict


def convert_sepvit(checkpoint: dict) -> OrderedDict:
    """Map the authors' SepViT keys to an mmsepvit classifier state dict.

    Args:
        checkpoint (dict): The authors' checkpoint, wrapped in ``model`` or
            ``state_dict`` or bare, keys optionally under ``module.`` or
            ``backbone.``.

    Returns:
        OrderedDict: ``backbone.*`` keys (and ``head.fc.*`` if there was a
        classification head). The ImageNet model's final ``norm`` becomes
        ``backbone.norm3`` unless the source has its own stage-4 output norm.
    """
    source = _unwrap(checkpoint)
    has_dense_norms = any(k.startswith('norm_list.') for k in source)
    converted = OrderedDict()
    for key, value in source.items():
        if key.startswith('head.'):
            converted['head.fc.' + key[len('head.'):]] = value
            continue
        if key.startswith('norm.'):
            if has_dense_norms:
                continue  # the unused classification norm of the dense code
            new_key = 'norm3.' + key[len('norm.'):]
        else:
            for pattern, replacement in _RULES:
                new_key, count = re.subn(pattern, replacement, key)
                if count:
                    break
            else:
                raise KeyError(f'Unexpected key in a SepViT checkpoint: {key}')
        if new_key.endswith('attn.window_token'):
            # (1, num_windows, 1, C) -> (num_windows, C)
            value = value.reshape(-1, value.shape[-1])
        converted['backbone.' + new_key] = value
    return converted


def main():
    parser = argparse.ArgumentParser(
        description='Convert the authors\' SepViT checkpoint keys to '
        'mmsepvit (mmpretrain ImageClassifier) keys.')
    parser.add_argument('src', help='the authors\' checkpoint path')
    parser.add_argument('dst', help='where to write the converted one')
    args = parser.parse_args()
    # A foreign checkpoint may hold non-tensor objects (args, optimizer).
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=False)
    state_dict = convert_sepvit(checkpoint)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save({'state_dict': state_dict}, tmp)
    os.replace(tmp, args.dst)
    print(f'Converted {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
