# Copyright (c) mmsepvit contributors. All rights reserved.
from .hooks import (CheckpointFitHook, InvalidLabelError, NonFiniteLossHook,
                    NonFiniteTrainingError, ResumableCheckpointHook,
                    ResumeLearningRateHook,
                    SegLabelCheckHook, StageScaleHook)
from .optimizers import (AutocastOptimWrapper,
                         LayerDecayOptimWrapperConstructor)

__all__ = [
    'AutocastOptimWrapper', 'CheckpointFitHook', 'InvalidLabelError',
    'LayerDecayOptimWrapperConstructor', 'NonFiniteLossHook',
    'NonFiniteTrainingError', 'ResumableCheckpointHook',
    'ResumeLearningRateHook', 'SegLabelCheckHook', 'StageScaleHook'
]
