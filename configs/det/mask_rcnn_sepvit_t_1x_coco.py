# Mask R-CNN + SepViT-T, COCO, 8 GPUs x 2 images, 1x, the authors' recipe.
_base_ = [
    '../_base_/models/mask_rcnn_sepvit.py',
    'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x_adamw.py',
    '../_base_/default_runtime_det.py'
]
optim_wrapper = dict(optimizer=dict(lr=2e-4))
