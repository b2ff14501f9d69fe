# The det demo with an ImageNet-pretrained EfficientNet-Lite0 (timm's
# tf_efficientnet_lite0, weights converted with
# tools/model_converters/efficientnet_lite2timm.py) as the backbone: the
# teacher of configs/distill/
# td_mask_rcnn_efficientnet_lite0_sepvit_lite_demo_shapes.py.
_base_ = './mask_rcnn_sepvit_demo_shapes.py'
model = dict(
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
