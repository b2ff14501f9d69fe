# The convnet peer of fpn_sepvit_lite_stanford_background.py: the same
# Semantic FPN and schedule with mmseg's MobileNetV2 (3.5 M parameters
# with its classifier, 2.2 M as a backbone) from scratch.
_base_ = './fpn_sepvit_lite_stanford_background.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 2, 1, 2, 1),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(in_channels=[24, 32, 96, 320]))
