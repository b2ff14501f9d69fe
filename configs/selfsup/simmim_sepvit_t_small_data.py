# simmim_sepvit_lite_small_data.py with SepViT-T.
_base_ = './simmim_sepvit_lite_small_data.py'
model = dict(backbone=dict(arch='tiny'), neck=dict(in_channels=768))
