_base_ = ['mmseg::_base_/models/fpn_r50.py', './sepvit_dense_backbone.py']

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(512, 512)),  # ADE20K crops
    backbone=dict(_delete_=True, **_base_.sepvit_backbone),
    neck=dict(in_channels=[96, 192, 384, 768]),
    decode_head=dict(num_classes=150))
