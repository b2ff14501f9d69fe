# Stanford Background (Gould et al., ICCV 2009): 715 outdoor photos, 8
# classes, a fixed 572 / 143 train / val split. Research use only, and not
# part of this repository: the folder (images/{train,val}/*.jpg,
# annotations/{train,val}/*.png, label 255 unlabelled) is read from
# $STANFORD_BACKGROUND, by default data/stanford_background.
_base_ = 'mmseg::_base_/datasets/ade20k.py'

data_root = '{{$STANFORD_BACKGROUND:data/stanford_background}}'
stanford_background = dict(
    type='BaseSegDataset',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    data_root=data_root,
    metainfo=dict(
        classes=('sky', 'tree', 'road', 'grass', 'water', 'building',
                 'mountain', 'foreground object'),
        palette=[[70, 130, 180], [34, 139, 34], [128, 64, 128],
                 [124, 252, 0], [0, 0, 255], [160, 80, 40],
                 [139, 90, 43], [220, 20, 60]]))
# Most photos are 320x240.
image_scale = (320, 240)
crop_size = (192, 192)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        stanford_background,
        data_prefix=dict(
            img_path='images/train', seg_map_path='annotations/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        stanford_background,
        data_prefix=dict(
            img_path='images/val', seg_map_path='annotations/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [dict(type='mmsepvit.SegLabelCheckHook')]
