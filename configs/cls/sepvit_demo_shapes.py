# Demo: a SepViT-Lite classifier from scratch on the generated shapes
# (ImageNet layout, 64x64: the authors' ImageNet mode built for 64).
_base_ = [
    '../_base_/models/sepvit_cls.py', '../_base_/datasets/shapes_cls.py',
    '../_base_/schedules/imagenet_bs1024_adamw_sepvit.py',
    '../_base_/default_runtime_cls.py'
]
model = dict(
    backbone=dict(arch='lite', img_size=64, drop_path_rate=0.1),
    head=dict(num_classes=4, in_channels=256),
    train_cfg=dict(_delete_=True))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=6)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        end=1,
        convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1)
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=6, max_keep_ckpts=2))
# A fixed seed: the README's figures come out again.
randomness = dict(seed=0)
