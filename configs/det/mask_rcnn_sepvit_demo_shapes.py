# Demo: Mask R-CNN + a SepViT-Lite from scratch on the generated shapes
# (COCO layout, 128x128), a few CPU minutes.
_base_ = [
    '../_base_/models/mask_rcnn_sepvit.py',
    '../_base_/datasets/shapes_det.py',
    '../_base_/schedules/schedule_1x_adamw.py',
    '../_base_/default_runtime_det.py'
]
model = dict(
    # From scratch in the authors' layout (stage_norms='main_path'); both
    # layouts train alike on this easy data (3 seeds each,
    # docs/reports/stage_norms.md); on harder data see the crowded config.
    backbone=dict(arch='lite', drop_path_rate=0.1, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=4),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64,
                       num_classes=4)),
    # A few small objects per image: far fewer proposals and RoIs than COCO.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))

max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[3],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=2, max_keep_ckpts=2))
# A fixed seed: the README's figures come out again.
randomness = dict(seed=0)
