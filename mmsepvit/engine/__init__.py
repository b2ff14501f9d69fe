# Copyright (c) mmsepvit contributors. All rights reserved.
from .hooks import (InvalidLabelError, NonFiniteLossHook,
                    NonFiniteTrainingError, ResumableCheckpointHook,
                    ResumeLearningRateHook,
                    SegLabelCheckHook, StageScaleHook)
from .optimizers import (AutocastOptimWrapper,
                         LayerDecayOptimWrapperConstructor)

__all__ = [
    'AutocastOptimWrapper', 'InvalidLabelError', 'NonFiniteLossHook',
    'NonFiniteTrainingError',
    'LayerDecayOptimWrapperConstructor', 'ResumableCheckpointHook',
    'ResumeLearningRateHook',
    'SegLabelCheckHook', 'StageScaleHook'
]
