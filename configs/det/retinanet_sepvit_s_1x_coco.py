_base_ = './retinanet_sepvit_t_1x_coco.py'

model = dict(backbone=_base_.sepvit_small)
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
