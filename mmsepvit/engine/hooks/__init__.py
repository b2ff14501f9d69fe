# Copyright (c) mmsepvit contributors. All rights reserved.
from .checkpoint_fit_hook import CheckpointFitHook
from .non_finite_loss_hook import NonFiniteLossHook, NonFiniteTrainingError
from .resume_learning_rate_hook import ResumeLearningRateHook
from .resumable_checkpoint_hook import ResumableCheckpointHook
from .seg_label_check_hook import InvalidLabelError, SegLabelCheckHook
from .stage_scale_hook import StageScaleHook

__all__ = [
    'CheckpointFitHook', 'InvalidLabelError', 'NonFiniteLossHook',
    'NonFiniteTrainingError', 'ResumableCheckpointHook',
    'ResumeLearningRateHook', 'SegLabelCheckHook', 'StageScaleHook'
]
