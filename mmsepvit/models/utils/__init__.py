# Copyright (c) mmsepvit contributors. All rights reserved.
from .ffn import GELURecomputingFFN
from .position_encoding import ConditionalPositionEncoding
from .separable_attention import (WINDOW_TOKEN_MODES, SeparableSelfAttention,
                                  window_grid)

__all__ = [
    'ConditionalPositionEncoding', 'GELURecomputingFFN',
    'SeparableSelfAttention', 'WINDOW_TOKEN_MODES', 'window_grid'
]
