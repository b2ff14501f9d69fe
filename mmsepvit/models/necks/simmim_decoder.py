# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmsepvit.registry import MODELS


@MODELS.register_module()
class SimMIMConvDecoder(BaseModule):
    """SimMIM's decoder with one hidden convolution before it.

    mmpretrain's ``SimMIMLinearDecoder`` predicts each ``stride x stride``
    patch of pixels from its own feature vector alone, by one linear map.
    This neck first mixes each feature with its neighbours (a
    ``kernel_size`` convolution to ``hidden_channels``, then GELU), then
    applies that linear decoder. It is a drop-in replacement in a ``SimMIM``
    config (same input, same output); the decoder is not part of the
    backbone, so the checkpoint hands off to the tasks as before.

    Args:
        in_channels (int): Channels of the encoder's map ``(B, C, h, w)``.
        encoder_stride (int): The encoder's total stride; the output is
            ``(B, 3, h * stride, w * stride)``.
        hidden_channels (int): Channels of the hidden layer.
            Defaults to 512.
        kernel_size (int): Kernel size of the hidden convolution (odd; 1:
            a two-layer MLP per token). Defaults to 3.
        init_cfg (dict, optional): The initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 encoder_stride: int,
                 hidden_channels: int = 512,
                 kernel_size: int = 3,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if kernel_size % 2 != 1:
            raise ValueError(
                f'kernel_size must be odd (the map keeps its size), got '
                f'{kernel_size}')
        # Imported here: mmsepvit imports no host toolbox at module level
        # (mmsepvit/registry.py); SimMIM configs run inside mmpretrain.
        from mmpretrain.models.necks import SimMIMLinearDecoder
        self.hidden = ConvModule(
            in_channels,
            hidden_channels,
            kernel_size,
            padding=kernel_size // 2,
            act_cfg=dict(type='GELU'))
        self.linear = SimMIMLinearDecoder(hidden_channels, encoder_stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, h, w)`` features -> ``(B, 3, h * s, w * s)`` pixels."""
        return self.linear(self.hidden(x))
