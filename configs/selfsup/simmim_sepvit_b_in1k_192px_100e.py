# simmim_sepvit_t_in1k_192px_100e.py with SepViT-B.
_base_ = './simmim_sepvit_t_in1k_192px_100e.py'
model = dict(backbone=dict(arch='b'), neck=dict(in_channels=1024))
