# Task distillation from the EfficientNet-Lite0 FPN fine-tuned on Stanford
# Background (configs/seg/fpn_efficientnet_lite0_stanford_background.py, the
# teacher: its checkpoint in $TEACHER_TASK_CHECKPOINT): its decode logits
# as a second target of the student's fine-tuning, by channel-wise
# distillation. A task config turns its own model into the student with
#   model = dict(_base_.task_distiller, _delete_=True, student=_base_.model)
task_distiller = dict(
    type='mmsepvit.TaskDistiller',
    teacher='{{ fileDirname }}/../../seg/fpn_efficientnet_lite0_stanford_background.py',  # noqa: E501
    teacher_checkpoint='{{$TEACHER_TASK_CHECKPOINT:work_dirs/fpn_efficientnet_lite0_stanford_background/iter_800.pth}}',  # noqa: E501
    distill_loss=dict(
        type='mmsepvit.ChannelWiseDivergence', tau=1.0, loss_weight=3.0))
