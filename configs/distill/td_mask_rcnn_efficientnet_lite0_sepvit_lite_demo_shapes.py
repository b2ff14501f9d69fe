# Task distillation for detection, on the det demo's data: Mask R-CNN +
# SepViT-Lite (configs/det/mask_rcnn_sepvit_demo_shapes.py, the student)
# trained with its own losses plus Pearson-correlation imitation of the FPN
# maps of the EfficientNet-Lite0 Mask R-CNN fine-tuned by
# configs/det/mask_rcnn_efficientnet_lite0_demo_shapes.py (the teacher: its
# checkpoint in $TEACHER_TASK_CHECKPOINT). For your data, put your det
# config in both places. The checkpoints are plain checkpoints of the
# student's config.
_base_ = '../det/mask_rcnn_sepvit_demo_shapes.py'
model = dict(
    _delete_=True,
    type='mmsepvit.TaskDistiller',
    student=_base_.model,
    teacher='{{ fileDirname }}/../det/mask_rcnn_efficientnet_lite0_demo_shapes.py',  # noqa: E501
    teacher_checkpoint='{{$TEACHER_TASK_CHECKPOINT:work_dirs/mask_rcnn_efficientnet_lite0_demo_shapes/epoch_4.pth}}',  # noqa: E501
    # PKD's weight for FPN maps (Cao et al.), here summed over the levels.
    distill_loss=dict(type='mmsepvit.PearsonFeatureDistance', loss_weight=6.0))
