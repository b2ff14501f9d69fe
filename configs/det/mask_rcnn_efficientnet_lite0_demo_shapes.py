# The det demo with an ImageNet-pretrained EfficientNet-Lite0 (timm's
# tf_efficientnet_lite0, weights converted with
# tools/model_converters/efficientnet_lite2timm.py) as the backbone: the
# teacher of configs/distill/
# td_mask_rcnn_efficientnet_lite0_sepvit_lite_demo_shapes.py.
_base_ = [
    './mask_rcnn_sepvit_demo_shapes.py',
    '../_base_/models/efficientnet_lite0_timm.py'
]
model = dict(_base_.efficientnet_lite0_backbone)
