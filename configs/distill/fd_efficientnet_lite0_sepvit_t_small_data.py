# The small-data distillation recipe with SepViT-T as the student; its
# checkpoint initialises the backbone of the seg/ and det/ T configs.
_base_ = './fd_efficientnet_lite0_sepvit_lite_small_data.py'
model = dict(backbone=dict(arch='tiny', drop_path_rate=0.2))

# Twice SepViT-Lite's schedule: on Stanford Background's val, SepViT-T
# task-distilled from 4000 iterations did better than from 2000
# (docs/pretraining.md).
max_iters = 4000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
