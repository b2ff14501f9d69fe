# The SepViT backbone of the dense-prediction configs (seg/ and det/): the
# authors' dense code (zero window tokens, pointwise attention in every
# block, a LayerNorm ending every stage on the main path), initialised from
# an mmsepvit ImageNet checkpoint (trained with configs/cls/ or converted
# from the authors' with tools/model_converters/sepvit2mmsepvit.py).
# stage_norms='main_path' is the layout the authors' weights and the small-data
# SimMIM checkpoints need (loading refuses the other one). Training from
# scratch, 'outputs' did better on detection and as well on segmentation
# (docs/reports/stage_norms.md); the from-scratch configs say which
# they use and why.
custom_imports = dict(imports=['mmsepvit'], allow_failed_imports=False)
sepvit_backbone = dict(
    type='mmsepvit.SepViT',
    arch='tiny',
    window_token='zeros',
    single_window_pwa=True,
    stage_norms='main_path',
    out_indices=(0, 1, 2, 3),
    drop_path_rate=0.2,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/sepvit_t_in1k.pth',
        prefix='backbone.'))
# What turns the T backbone above into S or B (with their authors' drop path).
sepvit_small = dict(
    arch='small',
    drop_path_rate=0.3,
    init_cfg=dict(checkpoint='checkpoints/sepvit_s_in1k.pth'))
sepvit_base = dict(
    arch='base',
    drop_path_rate=0.5,
    init_cfg=dict(checkpoint='checkpoints/sepvit_b_in1k.pth'))
