# mmpretrain's runtime, with checkpoints that survive a crash and resume
# training exactly (mmsepvit.ResumableCheckpointHook).
_base_ = 'mmpretrain::_base_/default_runtime.py'

default_hooks = dict(checkpoint=dict(type='mmsepvit.ResumableCheckpointHook'))
