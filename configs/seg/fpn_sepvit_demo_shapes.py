# Demo: Semantic FPN + a SepViT-Lite from scratch on the generated shapes
# (ADE20K layout), a few CPU minutes. bash tools/run_demo.sh runs it.
_base_ = [
    '../_base_/models/fpn_sepvit.py', '../_base_/datasets/shapes_seg.py',
    'mmseg::_base_/schedules/schedule_20k.py',
    'mmseg::_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    # From scratch in the authors' layout (stage_norms='main_path'); both
    # layouts train alike on this data (docs/reports/stage_norms.md).
    backbone=dict(arch='lite', drop_path_rate=0.1, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    decode_head=dict(in_channels=[64] * 4, channels=64, num_classes=5))

max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=150)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=30),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-5,
        begin=30,
        end=max_iters,
        by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(
        type='mmsepvit.ResumableCheckpointHook',
        interval=150,
        max_keep_ckpts=2))
# A fixed seed: the README's figures come out again.
randomness = dict(seed=0)
