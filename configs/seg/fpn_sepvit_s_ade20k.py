_base_ = './fpn_sepvit_t_ade20k.py'

model = dict(backbone=_base_.sepvit_small)
