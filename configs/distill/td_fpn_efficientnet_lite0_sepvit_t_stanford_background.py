# td_fpn_efficientnet_lite0_sepvit_lite_stanford_background.py with
# SepViT-T as the student
# (configs/seg/fpn_sepvit_t_distilled_stanford_background.py).
_base_ = [
    '../seg/fpn_sepvit_t_distilled_stanford_background.py',
    '../_base_/distill/td_efficientnet_lite0_fpn_stanford_background.py'
]
model = dict(_base_.task_distiller, _delete_=True, student=_base_.model)

# Six times the fine-tuning: on a held-out split of Stanford Background's
# train images, 4800 iterations of task distillation beat 2400 and 800
# (docs/pretraining.md).
max_iters = 4800
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
