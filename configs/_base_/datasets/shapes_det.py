# The generated shapes data in the COCO layout (boxes and polygon masks);
# make it with: python tools/misc/make_shapes_data.py
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

data_root = 'data/shapes/coco/'
metainfo = dict(
    classes=('circle', 'square', 'triangle', 'cross'),
    palette=[(220, 40, 40), (40, 200, 40), (30, 90, 220), (220, 200, 30)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root +
                     'annotations/instances_val2017.json')
test_evaluator = val_evaluator
