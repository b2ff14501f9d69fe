# SimMIM pretraining of SepViT-T on ImageNet-1k, the SimMIM paper's recipe
# for Swin as mmpretrain has it (192x192, mask ratio 0.6 of 32x32 patches,
# AdamW lr 8e-4 at batch 2048, 10 warm-up epochs, cosine, 100 epochs; add
# --amp on GPUs),
# with the authors' ImageNet SepViT at 192 as the encoder. Fine-tune with
# configs/cls/sepvit_t_in1k_from_simmim.py (224: the per-window tokens are
# resampled when it loads).
_base_ = [
    'mmpretrain::simmim/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',  # noqa: E501
    '../_base_/models/sepvit_imagenet_backbone.py'
]
model = dict(
    backbone=dict(
        _base_.sepvit_imagenet_backbone,
        _delete_=True,
        type='mmsepvit.SimMIMSepViT',
        img_size=192,
        out_indices=(3, ),
        drop_path_rate=0.0),
    neck=dict(in_channels=768))
# mmpretrain's recipe trains in fp16 (AmpOptimWrapper); here mixed precision
# is tools/train.py's --amp, as in every mmsepvit config.
optim_wrapper = dict(
    type='OptimWrapper',
    paramwise_cfg=dict(
        custom_keys={
            'mask_token': dict(decay_mult=0.),
            'window_token': dict(decay_mult=0.)
        }))
# Checkpoints that survive a crash and resume exactly.
default_hooks = dict(checkpoint=dict(type='mmsepvit.ResumableCheckpointHook'))
