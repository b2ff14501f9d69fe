_base_ = ['mmdet::_base_/datasets/coco_instance.py', './ms_crop_augment.py']

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    *_base_.ms_crop_augment,
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
