# The distillation teacher itself as the backbone: Semantic FPN + ImageNet-
# pretrained EfficientNet-Lite0 (timm's tf_efficientnet_lite0, weights
# converted with tools/model_converters/efficientnet_lite2timm.py) with the
# schedule of fpn_sepvit_lite_stanford_background.py: the bar a distilled
# SepViT-Lite is measured against.
_base_ = [
    './fpn_sepvit_lite_stanford_background.py',
    '../_base_/models/efficientnet_lite0_timm.py'
]
model = dict(_base_.efficientnet_lite0_backbone)
