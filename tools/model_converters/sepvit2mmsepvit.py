# Copyright (c) mmsepvit contributors. All rights reserved.
"""Convert a checkpoint of the authors' SepViT code to mmsepvit's layout.

    python tools/model_converters/sepvit2mmsepvit.py SRC DST

Three kinds of source are understood:

- an ImageNet classifier of their classification code
  (``{'model': ...}``): it becomes an mmpretrain ``ImageClassifier`` state
  dict, ``backbone.*`` and ``head.fc.*``, for ``tools/test.py`` on a
  ``configs/cls/`` config and for ``init_cfg=dict(type='Pretrained',
  checkpoint=..., prefix='backbone.')`` in any config;
- a whole detector or segmentor of their mmdet 2.x / mmseg 0.x code
  (``{'state_dict': ...}`` with ``backbone.*``, ``neck.*``, ``*_head.*``):
  the backbone keys are converted and every other key is kept under its own
  name, as mmdet 3 / mmseg 1 name the weights of FPN, RetinaHead, the RPN and
  RoI heads, FPNHead, UPerHead and FCNHead as their 2.x / 0.x did, so
  ``tools/test.py`` evaluates it with the matching ``configs/det/`` or
  ``configs/seg/`` config;
- a bare dense backbone state dict.

The authors' dense backbone also builds the ImageNet classifier's final norm
and head and never uses them; they are dropped. The tool prints what was
converted, kept and dropped.
"""
import argparse
import re
from collections import Counter, OrderedDict
from typing import Dict, List, Tuple

from mmsepvit.cli import run
from mmsepvit.utils import (checkpoint_state_dict, load_checkpoint_file,
                            require_file, save_state_dict)

# (pattern over the authors' backbone key, replacement in mmsepvit's)
_RULES = [
    (r'^patch_embeds\.(\d+)\.proj\.', r'stages.\1.patch_embed.projection.'),
    (r'^patch_embeds\.(\d+)\.norm\.', r'stages.\1.patch_embed.norm.'),
    (r'^pos_block\.(\d+)\.proj\.0\.', r'stages.\1.pos_block.proj.'),
    (r'^blocks\.(\d+)\.(\d+)\.norm1\.', r'stages.\1.blocks.\2.attn.norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.norm2\.', r'stages.\1.blocks.\2.ffn_norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.mlp\.fc1\.',
     r'stages.\1.blocks.\2.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.(\d+)\.mlp\.fc2\.',
     r'stages.\1.blocks.\2.ffn.layers.1.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.DSA_qkv\.',
     r'stages.\1.blocks.\2.attn.qkv.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.PSA_qk\.',
     r'stages.\1.blocks.\2.attn.pwa_qk.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.win_tokens_norm\.',
     r'stages.\1.blocks.\2.attn.pwa_norm.'),
    (r'^blocks\.(\d+)\.(\d+)\.attn\.proj\.',
     r'stages.\1.blocks.\2.attn.proj.'),
    (r'^blocks\.(\d+)\.(\d+)\.win_tokens$',
     r'stages.\1.blocks.\2.attn.window_token'),
    (r'^norm_list\.(\d+)\.', r'norm_after_stage.\1.'),
]
BACKBONE = 'backbone.'


def _backbone_key(key: str, dense: bool) -> str:
    """mmsepvit's name for an authors' backbone key; '' drops it."""
    if key.startswith(('norm.', 'head.')):
        if dense:
            return ''  # the dense code's unused classifier norm and head
        if key.startswith('head.'):
            return 'head.fc.' + key[len('head.'):]
        return BACKBONE + 'norm3.' + key[len('norm.'):]
    for pattern, replacement in _RULES:
        new_key, count = re.subn(pattern, replacement, key)
        if count:
            return BACKBONE + new_key
    raise KeyError(f'Unexpected key in a SepViT backbone: {key!r}. Valid '
                   f'keys follow the authors\' layout (patch_embeds.*, '
                   f'pos_block.*, blocks.*, norm_list.*, norm.*, head.*).')


def convert_sepvit(
        checkpoint: dict) -> Tuple[OrderedDict, Dict[str, List[str]]]:
    """Map an authors' SepViT checkpoint to mmsepvit's keys.

    Args:
        checkpoint (dict): The authors' checkpoint: an ImageNet classifier,
            a whole detector / segmentor, or a bare backbone; wrapped in
            ``model`` or ``state_dict`` or not, keys optionally under
            ``module.``.

    Returns:
        tuple[OrderedDict, dict]: The converted state dict, and the source
        keys by what happened to them: ``'converted'`` (backbone and
        classification head), ``'kept'`` (necks and heads of a whole model,
        under their own names) and ``'dropped'``.
    """
    source = checkpoint_state_dict(checkpoint)
    whole_model = any(key.startswith(BACKBONE) for key in source)
    backbone_keys = [
        key for key in source if not whole_model or key.startswith(BACKBONE)
    ]
    dense = any(
        key.startswith('norm_list.', len(BACKBONE) if whole_model else 0)
        for key in backbone_keys)
    converted = OrderedDict()
    report = dict(converted=[], kept=[], dropped=[])
    for key, value in source.items():
        if key not in backbone_keys:
            converted[key] = value
            report['kept'].append(key)
            continue
        new_key = _backbone_key(
            key[len(BACKBONE):] if whole_model else key, dense)
        if not new_key:
            report['dropped'].append(key)
            continue
        if new_key.endswith('attn.window_token'):
            # (1, num_windows, 1, C) -> (num_windows, C)
            value = value.reshape(-1, value.shape[-1])
        converted[new_key] = value
        report['converted'].append(key)
    return converted, report


def summary(report: Dict[str, List[str]]) -> str:
    """What :func:`convert_sepvit` did, in a few lines."""
    lines = [f'Converted {len(report["converted"])} tensors of the backbone '
             f'(and classification head) to mmsepvit keys.']
    if report['kept']:
        groups = Counter(key.split('.')[0] for key in report['kept'])
        lines.append(f'Kept {len(report["kept"])} tensors under their own '
                     f'names: ' + ', '.join(f'{name}.* ({count})'
                                            for name, count in groups.items()))
    if report['dropped']:
        lines.append(f'Dropped {len(report["dropped"])} tensors the '
                     f'authors\' dense backbone builds but never uses: ' +
                     ', '.join(report['dropped']))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(
        description='Convert an authors\' SepViT checkpoint (classifier, '
        'detector, segmentor or backbone) to mmsepvit keys.')
    parser.add_argument('src', help='the authors\' checkpoint path')
    parser.add_argument('dst', help='where to write the converted one')
    args = parser.parse_args()
    require_file(args.src, 'checkpoint')
    # The authors' classification script also saves its argparse args.
    checkpoint = load_checkpoint_file(
        args.src, map_location='cpu', extra_safe_globals=[argparse.Namespace])
    state_dict, report = convert_sepvit(checkpoint)
    save_state_dict(state_dict, args.dst)
    print(summary(report))
    print(f'Wrote {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    run(main)
