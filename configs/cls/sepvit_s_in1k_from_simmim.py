# sepvit_t_in1k_from_simmim.py with SepViT-S, from
# configs/selfsup/simmim_sepvit_s_in1k_192px_800e.py.
_base_ = './sepvit_t_in1k_from_simmim.py'
model = dict(
    backbone=dict(
        arch='small',
        init_cfg=dict(checkpoint='work_dirs/simmim_sepvit_s_in1k_192px_800e/'
                      'epoch_800.pth')))
