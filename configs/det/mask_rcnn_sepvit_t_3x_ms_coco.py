# Mask R-CNN + SepViT-T, COCO, 8 GPUs x 2 images, 3x multi-scale, the
# authors' recipe (they also train T in fp16: add --amp on GPUs).
_base_ = [
    '../_base_/models/mask_rcnn_sepvit.py',
    '../_base_/datasets/coco_instance_ms_crop.py',
    '../_base_/schedules/schedule_3x_adamw.py',
    '../_base_/default_runtime_det.py'
]
