# Copyright (c) mmsepvit contributors. All rights reserved.
from .compat import apply_compat_shims
from .complexity import flop_analyzer, sdpa_flop_jit
from .safe_checkpoint import (CheckpointFileError, DamagedCheckpointError,
                              UnsafeCheckpointError, load_checkpoint_file,
                              verify_checkpoint_file)

__all__ = [
    'apply_compat_shims', 'flop_analyzer', 'sdpa_flop_jit',
    'CheckpointFileError', 'DamagedCheckpointError', 'UnsafeCheckpointError',
    'load_checkpoint_file', 'verify_checkpoint_file'
]
