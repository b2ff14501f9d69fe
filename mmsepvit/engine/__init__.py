# Copyright (c) mmsepvit contributors. All rights reserved.
from .hooks import (InvalidLabelError, ResumableCheckpointHook,
                    SegLabelCheckHook, StageScaleHook,
                    find_resumable_checkpoint)
from .optimizers import (AutocastOptimWrapper,
                         LayerDecayOptimWrapperConstructor)

__all__ = [
    'AutocastOptimWrapper', 'InvalidLabelError',
    'LayerDecayOptimWrapperConstructor', 'ResumableCheckpointHook',
    'SegLabelCheckHook', 'StageScaleHook', 'find_resumable_checkpoint'
]
