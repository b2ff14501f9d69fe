# fpn_sepvit_lite_stanford_background.py fine-tuned from a SimMIM checkpoint
# of configs/selfsup/simmim_sepvit_lite_small_data.py pretrained on the
# train images (SIMMIM_IMAGES=$STANFORD_BACKGROUND/images/train), as the
# Runner saved it.
_base_ = './fpn_sepvit_lite_stanford_background.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='work_dirs/simmim_sepvit_lite_small_data/iter_500.pth',
            prefix='backbone.')))
