# UperNet + SepViT-T, ADE20K 512x512, 8 GPUs x 2 images, 160k iterations
# (the authors' "Swin setting").
_base_ = [
    '../_base_/models/upernet_sepvit.py', '../_base_/datasets/ade20k_bs2.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    'mmseg::_base_/default_runtime.py'
]

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_block': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]
# mmseg keeps default_hooks in its schedules; checkpoints that survive a
# crash and resume exactly:
default_hooks = dict(checkpoint=dict(type='mmsepvit.ResumableCheckpointHook'))
