# The authors feed all four stages to an FPN with start_level=1; feeding
# stages 2-4 with start_level=0 is the same network without the unused
# stage-1 output norm.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', './sepvit_dense_backbone.py'
]

model = dict(
    backbone=dict(_base_.sepvit_backbone, _delete_=True, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
