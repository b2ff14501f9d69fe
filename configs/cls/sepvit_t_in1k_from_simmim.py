# SepViT-T fine-tuned on ImageNet-1k (224x224) from a SimMIM checkpoint of
# configs/selfsup/simmim_sepvit_t_in1k_192px_800e.py, as the Runner saved
# it; the per-window tokens learned at 192 are resampled to 224's window
# grid when it loads. SimMIM's fine-tuning recipe for Swin-B: 100 epochs,
# AdamW lr 1.25e-3 per 512 images, 20 warm-up epochs, cosine, layer-wise
# lr decay 0.9, drop path 0.1.
_base_ = './sepvit_t_in1k.py'
model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/simmim_sepvit_t_in1k_192px_800e/'
            'epoch_800.pth',
            prefix='backbone.')))
optim_wrapper = dict(
    optimizer=dict(lr=1.25e-3 * 1024 / 512),
    constructor='mmsepvit.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9))
warmup_epochs = 20
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=2.5e-7 / 1.25e-3,
        by_epoch=True,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=2.5e-7 * 1024 / 512,
        by_epoch=True,
        begin=warmup_epochs,
        end=100,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
