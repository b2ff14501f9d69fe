# Copyright (c) mmsepvit contributors. All rights reserved.
from .separable_attention import (WINDOW_TOKEN_MODES, SeparableSelfAttention,
                                  window_grid)

__all__ = ['SeparableSelfAttention', 'WINDOW_TOKEN_MODES', 'window_grid']
