# The authors give no Lite recipe; the T recipe with a lighter drop path.
_base_ = './sepvit_t_in1k.py'

model = dict(
    backbone=dict(arch='lite', drop_path_rate=0.1),
    head=dict(in_channels=256))
