# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule


class ConditionalPositionEncoding(BaseModule):
    """Conditional position encoding (CPVT's PEG): ``x + DWConv3x3(x)``.

    Args:
        embed_dims (int): Number of channels.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, embed_dims: int, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(
            embed_dims, embed_dims, 3, padding=1, groups=embed_dims)

    def forward(self, x: torch.Tensor,
                hw_shape: Tuple[int, int]) -> torch.Tensor:
        """``(B, H*W, C)`` tokens in, the same shape out."""
        B, N, C = x.shape
        feat = x.transpose(1, 2).view(B, C, *hw_shape)
        return x + self.proj(feat).flatten(2).transpose(1, 2)
