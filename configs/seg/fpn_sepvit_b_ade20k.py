_base_ = './fpn_sepvit_t_ade20k.py'

model = dict(
    backbone=_base_.sepvit_base,
    neck=dict(in_channels=[128, 256, 512, 1024]))
