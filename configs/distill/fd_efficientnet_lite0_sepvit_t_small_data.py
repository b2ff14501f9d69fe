# The small-data distillation recipe with SepViT-T as the student; its
# checkpoint initialises the backbone of the seg/ and det/ T configs.
_base_ = './fd_efficientnet_lite0_sepvit_lite_small_data.py'
model = dict(backbone=dict(arch='tiny', drop_path_rate=0.2))
