# simmim_sepvit_t_in1k_192px_100e.py with SepViT-S.
_base_ = './simmim_sepvit_t_in1k_192px_100e.py'
model = dict(backbone=dict(arch='s'), neck=dict(in_channels=768))
