# Task distillation on Stanford Background: the fine-tuning of
# fpn_sepvit_lite_distilled_stanford_background.py (the student: SepViT-Lite
# feature-distilled, then Semantic FPN), with the decode logits of the
# EfficientNet-Lite0 FPN fine-tuned by
# configs/seg/fpn_efficientnet_lite0_stanford_background.py (the teacher:
# its checkpoint in $TEACHER_TASK_CHECKPOINT) as a second target, by
# channel-wise distillation. The checkpoints are plain checkpoints of the
# student's config:
#   python tools/test.py \
#       configs/seg/fpn_sepvit_lite_distilled_stanford_background.py \
#       work_dirs/td_fpn_efficientnet_lite0_sepvit_lite_stanford_background/\
#       iter_800.pth
_base_ = '../seg/fpn_sepvit_lite_distilled_stanford_background.py'
model = dict(
    _delete_=True,
    type='mmsepvit.TaskDistiller',
    student=_base_.model,
    teacher='{{ fileDirname }}/../seg/fpn_efficientnet_lite0_stanford_background.py',  # noqa: E501
    teacher_checkpoint='{{$TEACHER_TASK_CHECKPOINT:work_dirs/fpn_efficientnet_lite0_stanford_background/iter_800.pth}}',  # noqa: E501
    distill_loss=dict(
        type='mmsepvit.ChannelWiseDivergence', tau=1.0, loss_weight=3.0))
