# SepViT-T on ImageNet-1K, 224x224, 8 GPUs x 128 images (the authors').
_base_ = [
    '../_base_/models/sepvit_cls.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    '../_base_/schedules/imagenet_bs1024_adamw_sepvit.py',
    '../_base_/default_runtime_cls.py'
]

train_dataloader = dict(batch_size=128)
