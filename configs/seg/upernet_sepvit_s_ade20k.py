_base_ = './upernet_sepvit_t_ade20k.py'

model = dict(backbone=_base_.sepvit_small)
