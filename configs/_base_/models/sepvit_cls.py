# SepViT image classifier as the authors' ImageNet model: learned window
# token per window position at 224, no pointwise attention in blocks whose
# window covers the whole map, no norms between stages, and LayerNorm ->
# average pooling -> linear head.
custom_imports = dict(imports=['mmsepvit'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmsepvit.SepViT',
        arch='tiny',
        img_size=224,
        window_token='per_window',
        single_window_pwa=False,
        stage_norms='outputs',
        drop_path_rate=0.2),
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
