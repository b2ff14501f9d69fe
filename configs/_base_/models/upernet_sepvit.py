_base_ = [
    'mmseg::_base_/models/upernet_swin.py', './sepvit_dense_backbone.py'
]

model = dict(
    data_preprocessor=dict(size=(512, 512)),  # ADE20K crops
    backbone=dict(_delete_=True, **_base_.sepvit_backbone),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))
