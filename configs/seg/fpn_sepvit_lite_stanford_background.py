# Semantic FPN + SepViT-Lite from scratch on Stanford Background (8
# classes, 192x192 crops), CPU-sized: the small-data comparisons of
# docs/pretraining.md.
# Set STANFORD_BACKGROUND to the dataset folder.
_base_ = [
    '../_base_/models/fpn_sepvit.py',
    '../_base_/datasets/stanford_background.py',
    'mmseg::_base_/schedules/schedule_20k.py',
    'mmseg::_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    # From scratch in the authors' layout (stage_norms='main_path'), which
    # the SimMIM fine-tuning config inheriting this one needs; from scratch
    # 'outputs' is as good here (docs/reports/stage_norms.md).
    backbone=dict(arch='lite', drop_path_rate=0.1, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=128),
    decode_head=dict(in_channels=[128] * 4, channels=128, num_classes=8))

max_iters = 800
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=100),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-5,
        begin=100,
        end=max_iters,
        by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='mmsepvit.ResumableCheckpointHook',
        interval=max_iters,
        max_keep_ckpts=1))
randomness = dict(seed=0)
