_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py', './sepvit_dense_backbone.py'
]

model = dict(
    backbone=dict(_delete_=True, **_base_.sepvit_backbone),
    neck=dict(in_channels=[96, 192, 384, 768]))
