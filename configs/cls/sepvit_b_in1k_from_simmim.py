# sepvit_t_in1k_from_simmim.py with SepViT-B, from
# configs/selfsup/simmim_sepvit_b_in1k_192px_800e.py.
_base_ = './sepvit_t_in1k_from_simmim.py'
model = dict(
    backbone=dict(
        arch='base',
        init_cfg=dict(checkpoint='work_dirs/simmim_sepvit_b_in1k_192px_800e/'
                      'epoch_800.pth')),
    head=dict(in_channels=1024))
