# Task distillation on Stanford Background: the fine-tuning of
# configs/seg/fpn_sepvit_lite_distilled_stanford_background.py (the student:
# SepViT-Lite feature-distilled, then Semantic FPN) with the teacher's decode
# logits as a second target (configs/_base_/distill/). The checkpoints are
# plain checkpoints of the student's config:
#   python tools/test.py \
#       configs/seg/fpn_sepvit_lite_distilled_stanford_background.py \
#       work_dirs/td_fpn_efficientnet_lite0_sepvit_lite_stanford_background/\
#       iter_2400.pth
_base_ = [
    '../seg/fpn_sepvit_lite_distilled_stanford_background.py',
    '../_base_/distill/td_efficientnet_lite0_fpn_stanford_background.py'
]
model = dict(_base_.task_distiller, _delete_=True, student=_base_.model)

# Three times the fine-tuning: on a held-out split of Stanford Background's
# train images, 2400 iterations of task distillation beat 800
# (docs/pretraining.md).
max_iters = 2400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
