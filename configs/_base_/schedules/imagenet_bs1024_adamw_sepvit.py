# The authors' ImageNet schedule: AdamW lr 1e-3 at batch 1024,
# wd 0.05, 5 warm-up epochs from 1e-6, cosine to 1e-5 over 300 epochs,
# gradient clipping at 5. timm's optimizer factory they used exempts 1-D
# parameters (norms, biases) from weight decay.
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py'

optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0))

warmup_epochs = 5
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs)
]
