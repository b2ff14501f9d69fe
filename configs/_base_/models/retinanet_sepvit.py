# The authors feed all four stages to an FPN with start_level=1. Returning
# stages 2-4 to an FPN with start_level=0 is the same network (the same
# neck and head keys) without a stage-1 map nobody reads; stage 1's norm is
# on the main path and exists either way.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', './sepvit_dense_backbone.py'
]

model = dict(
    backbone=dict(
        _base_.sepvit_backbone, _delete_=True, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
