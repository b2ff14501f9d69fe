# Semantic FPN + SepViT-T, ADE20K 512x512, 8 GPUs x 2 images, 80k iterations
# (the authors' recipe).
_base_ = [
    '../_base_/models/fpn_sepvit.py', '../_base_/datasets/ade20k_bs2.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py'
]

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-6,
        begin=0,
        end=80000,
        by_epoch=False)
]
# mmseg keeps default_hooks in its schedules; checkpoints that survive a
# crash and resume exactly:
default_hooks = dict(checkpoint=dict(type='mmsepvit.ResumableCheckpointHook'))
