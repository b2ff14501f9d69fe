# fpn_sepvit_lite_stanford_background.py fine-tuned from a checkpoint of
# configs/distill/fd_efficientnet_lite0_sepvit_lite_small_data.py distilled
# on the train images without their labels
# (DISTILL_IMAGES=$STANFORD_BACKGROUND/images/train), as the Runner saved it.
_base_ = './fpn_sepvit_lite_stanford_background.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='work_dirs/fd_efficientnet_lite0_sepvit_lite_small_data/iter_2000.pth',  # noqa: E501
            prefix='backbone.')))
