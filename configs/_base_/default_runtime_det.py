# mmdet's runtime, with checkpoints that survive a crash and resume
# training exactly (mmsepvit.ResumableCheckpointHook).
_base_ = 'mmdet::_base_/default_runtime.py'

default_hooks = dict(checkpoint=dict(type='mmsepvit.ResumableCheckpointHook'))
