# Copyright (c) mmsepvit contributors. All rights reserved.
from .compat import apply_compat_shims
from .complexity import flop_analyzer, sdpa_flop_jit

__all__ = ['apply_compat_shims', 'flop_analyzer', 'sdpa_flop_jit']
