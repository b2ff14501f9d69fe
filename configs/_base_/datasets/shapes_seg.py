# The generated shapes data in the ADE20K layout (label 0 unlabelled, 1
# background, 2.. shapes; reduce_zero_label as ADE20K); make it with:
# python tools/misc/make_shapes_data.py. ADE20KDataset only takes subsets of
# ADE20K's classes, hence the base class with ADE20K's file conventions.
_base_ = 'mmseg::_base_/datasets/ade20k.py'

data_root = 'data/shapes/ade'
shapes_dataset = dict(
    type='BaseSegDataset',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True,
    data_root=data_root,
    metainfo=dict(
        classes=('background', 'circle', 'square', 'triangle', 'cross'),
        palette=[[0, 0, 0], [220, 40, 40], [40, 200, 40], [30, 90, 220],
                 [220, 200, 30]]))
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(256, 128),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(shapes_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(shapes_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
# Stop at labels that are neither a class nor the ignore index.
custom_hooks = [dict(type='mmsepvit.SegLabelCheckHook')]
