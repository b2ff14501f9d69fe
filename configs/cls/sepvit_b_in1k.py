# The authors' ImageNet drop path for B is not published; 0.5 is what their
# dense-prediction backbones hard-code for B.
_base_ = './sepvit_t_in1k.py'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.5),
    head=dict(in_channels=1024))
