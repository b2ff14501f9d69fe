# EfficientNet-Lite0 (timm's tf_efficientnet_lite0, ImageNet weights
# converted with tools/model_converters/efficientnet_lite2timm.py) in place
# of a task model's backbone, with its input normalisation and the channels
# of its four maps (strides 4 to 32):
#   model = dict(_base_.efficientnet_lite0_backbone)
efficientnet_lite0_backbone = dict(
    # EfficientNet-Lite's inputs: (pixels - 127.5) / 127.5.
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.TIMMBackbone',
        model_name='tf_efficientnet_lite0',
        features_only=True,
        out_indices=(1, 2, 3, 4),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='{{$TEACHER_CHECKPOINT:checkpoints/tf_efficientnet_lite0.pth}}')),  # noqa: E501
    neck=dict(in_channels=[24, 40, 112, 320]))
