# The authors' ImageNet drop path for S is not published; 0.3 is what their
# dense-prediction backbones hard-code for S.
_base_ = './sepvit_t_in1k.py'

model = dict(backbone=dict(arch='small', drop_path_rate=0.3))
