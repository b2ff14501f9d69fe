# fpn_sepvit_lite_distilled_stanford_background.py with SepViT-T, fine-tuned
# from a checkpoint of
# configs/distill/fd_efficientnet_lite0_sepvit_t_small_data.py.
_base_ = './fpn_sepvit_lite_distilled_stanford_background.py'
model = dict(
    backbone=dict(
        arch='tiny',
        drop_path_rate=0.2,
        init_cfg=dict(
            checkpoint='work_dirs/fd_efficientnet_lite0_sepvit_t_small_data/iter_4000.pth')),  # noqa: E501
    neck=dict(in_channels=[96, 192, 384, 768]))
