# Copyright (c) mmsepvit contributors. All rights reserved.
from .hooks import (InvalidLabelError, ResumableCheckpointHook,
                    SegLabelCheckHook, find_resumable_checkpoint)

__all__ = [
    'InvalidLabelError', 'ResumableCheckpointHook', 'SegLabelCheckHook',
    'find_resumable_checkpoint'
]
