# Copyright (c) mmsepvit contributors. All rights reserved.
from .compat import float32_mmcv_ops_under_cpu_autocast, float32_predictions
from .complexity import flop_analyzer, sdpa_flop_jit
from .errors import (ConfigMismatchError, MissingInputError,
                     UnusableInputError, UserError, require_file)
from .safe_checkpoint import (CheckpointFileError, CheckpointMismatchError,
                              DamagedCheckpointError, NonFiniteCheckpointError,
                              UnsafeCheckpointError, check_state_dict_fits,
                              checkpoint_state_dict, first_non_finite,
                              load_checkpoint_file, load_checkpoint_into,
                              register_safe_loader, revise_on_load,
                              save_state_dict,
                              verify_checkpoint_file)

__all__ = [
    'float32_mmcv_ops_under_cpu_autocast',
    'float32_predictions', 'flop_analyzer', 'sdpa_flop_jit', 'UserError',
    'ConfigMismatchError', 'MissingInputError', 'UnusableInputError',
    'require_file',
    'CheckpointFileError', 'CheckpointMismatchError', 'DamagedCheckpointError',
    'NonFiniteCheckpointError', 'UnsafeCheckpointError',
    'check_state_dict_fits', 'checkpoint_state_dict', 'first_non_finite',
    'load_checkpoint_file', 'load_checkpoint_into', 'register_safe_loader',
    'revise_on_load', 'save_state_dict',
    'verify_checkpoint_file'
]
