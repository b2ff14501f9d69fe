# SepViT image classifier as the authors' ImageNet model: their ImageNet
# backbone, then LayerNorm -> average pooling -> linear head.
_base_ = './sepvit_imagenet_backbone.py'
model = dict(
    type='ImageClassifier',
    backbone=dict(_base_.sepvit_imagenet_backbone, drop_path_rate=0.2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        cal_acc=False),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]),
)
