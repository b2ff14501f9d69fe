# RetinaNet + SepViT-T, COCO, 8 GPUs x 2 images, 3x multi-scale, the
# authors' recipe.
_base_ = [
    '../_base_/models/retinanet_sepvit.py',
    '../_base_/datasets/coco_detection_ms_crop.py',
    '../_base_/schedules/schedule_3x_adamw.py',
    '../_base_/default_runtime_det.py'
]
