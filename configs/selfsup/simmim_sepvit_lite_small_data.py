# SimMIM pretraining of SepViT-Lite on your own unlabeled images, in CPU
# minutes: every image (any size, subfolders included) under
# $SIMMIM_IMAGES, by default data/unlabeled_images. The backbone is the
# dense configs' SepViT (configs/_base_/models/sepvit_dense_backbone.py), so
# the checkpoint initialises the backbone of a seg/ or det/ Lite config
# directly:
#   backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=...,
#                               prefix='backbone.'))
_base_ = [
    '../_base_/models/sepvit_dense_backbone.py',
    '../_base_/default_runtime_cls.py'
]
input_size = 192
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
# SimMIM's masking: 60 % of the 32x32 patches, one mask value per token of
# SepViT's stride-4 stem.
mask_generator = dict(
    type='SimMIMMaskGenerator',
    input_size=input_size,
    mask_patch_size=32,
    model_patch_size=4,
    mask_ratio=0.6)
# Large photos are decoded at 1/2 to 1/8 of their size (JPEG's own scaling),
# their shorter side at least 270 pixels: every crop of the 67 % of the area
# (aspect ratio 3/4 to 4/3) still has 191 or more, for a 192x192 input.
train_pipeline = [
    dict(type='mmsepvit.LoadReducedImageFromFile', min_side=270),
    dict(
        type='RandomResizedCrop',
        scale=input_size,
        crop_ratio_range=(0.67, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    mask_generator,
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset',
        data_root='{{$SIMMIM_IMAGES:data/unlabeled_images}}',
        with_label=False,
        pipeline=train_pipeline))

model = dict(
    type='SimMIM',
    backbone=dict(
        _base_.sepvit_backbone,
        type='mmsepvit.SimMIMSepViT',
        arch='lite',
        out_indices=(3, ),
        drop_path_rate=0.0,
        init_cfg=None),
    neck=dict(
        type='SimMIMLinearDecoder', in_channels=256, encoder_stride=32),
    head=dict(
        type='SimMIMHead',
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)))

max_iters = 500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        custom_keys={
            'norm': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=False,
        begin=0,
        end=max_iters // 10),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=False,
        begin=max_iters // 10,
        end=max_iters)
]
# Progress by iteration: loss, learning rate, time left.
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
