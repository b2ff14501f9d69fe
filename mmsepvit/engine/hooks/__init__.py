# Copyright (c) mmsepvit contributors. All rights reserved.
from .resumable_checkpoint_hook import (ResumableCheckpointHook,
                                        find_resumable_checkpoint)
from .seg_label_check_hook import InvalidLabelError, SegLabelCheckHook
from .stage_scale_hook import StageScaleHook

__all__ = [
    'InvalidLabelError', 'ResumableCheckpointHook', 'SegLabelCheckHook',
    'StageScaleHook', 'find_resumable_checkpoint'
]
