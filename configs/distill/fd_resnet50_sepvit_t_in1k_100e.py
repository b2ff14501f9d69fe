# Feature distillation into SepViT-T on ImageNet-1k (train images, labels
# unused), for GPUs: mmpretrain's ResNet-50 of "ResNet strikes back" (A1
# recipe, 80.1 % top-1) as the teacher, its checkpoint from mmpretrain's
# model zoo (resnet50_8xb256-rsb-a1-600e_in1k), read from
# checkpoints/resnet50_8xb256-rsb-a1-600e_in1k.pth or $TEACHER_CHECKPOINT.
# The schedule is the SimMIM paper's ImageNet recipe for Swin as mmpretrain
# has it (configs/selfsup/simmim_sepvit_t_in1k_192px_100e.py): AdamW, lr
# 8e-4 at batch 2048 (8 GPUs x 256; --auto-scale-lr for others), weight
# decay 0.05, 10 warm-up epochs, cosine to 100 epochs; 224x224 crops. Add
# --amp on GPUs. The student is the authors' ImageNet SepViT-T
# (configs/_base_/models/sepvit_imagenet_backbone.py), so the checkpoint
# initialises the backbone of configs/cls/sepvit_t_in1k.py and, as an
# ImageNet checkpoint does, of the seg/ and det/ T configs
# (prefix='backbone.').
_base_ = './fd_efficientnet_lite0_sepvit_t_small_data.py'

input_size = 224
# 224x224 crops: large photos keep a shorter side of at least 316 pixels.
train_pipeline = [
    dict(_base_.train_pipeline[0], min_side=316),
    dict(_base_.train_pipeline[1], scale=input_size),
    *_base_.train_pipeline[2:]
]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='ImageNet',
        data_root='data/imagenet',
        split='train',
        pipeline=train_pipeline))

model = dict(
    # The settings of sepvit_imagenet_backbone.py (a second base would
    # repeat custom_imports, which mmengine refuses).
    backbone=dict(
        _delete_=True,
        type='mmsepvit.SepViT',
        arch='tiny',
        img_size=input_size,
        window_token='per_window',
        single_window_pwa=False,
        stage_norms='outputs',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1),
    teacher=dict(
        _delete_=True,
        type='mmpretrain.ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3)),
    teacher_checkpoint='{{$TEACHER_CHECKPOINT:checkpoints/resnet50_8xb256-rsb-a1-600e_in1k.pth}}',  # noqa: E501
    # An mmpretrain classifier's checkpoint: the teacher is its backbone.
    teacher_prefix='backbone.',
    # mmpretrain's ResNet takes ImageNet's mean and std, as the student.
    teacher_mean=None,
    teacher_std=None)

max_epochs = 100
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=8e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 8e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=10,
        end=max_epochs,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=2048)
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=True, interval=10, max_keep_ckpts=3))
