# simmim_sepvit_t_in1k_192px_100e.py for 800 epochs, the SimMIM paper's
# long schedule as mmpretrain has it: lr 4e-4 at batch 2048, 10 warm-up
# epochs, then a step to a tenth at epoch 700.
_base_ = './simmim_sepvit_t_in1k_192px_100e.py'
optim_wrapper = dict(optimizer=dict(lr=1e-4 * 2048 / 512))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=5e-7 / 1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR',
        milestones=[700],
        by_epoch=True,
        begin=10,
        end=800,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=800)
