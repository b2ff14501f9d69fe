_base_ = './upernet_sepvit_t_ade20k.py'

model = dict(
    backbone=_base_.sepvit_base,
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
optim_wrapper = dict(optimizer=dict(weight_decay=0.03))
