# td_fpn_efficientnet_lite0_sepvit_lite_stanford_background.py with
# SepViT-T as the student
# (configs/seg/fpn_sepvit_t_distilled_stanford_background.py).
_base_ = [
    '../seg/fpn_sepvit_t_distilled_stanford_background.py',
    '../_base_/distill/td_efficientnet_lite0_fpn_stanford_background.py'
]
model = dict(_base_.task_distiller, _delete_=True, student=_base_.model)

# Three times the fine-tuning, as for SepViT-Lite: from 4000 iterations of
# feature distillation, 2400 iterations of task distillation did better
# than 4800 from 2000 (docs/pretraining.md).
max_iters = 2400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
