# td_fpn_efficientnet_lite0_sepvit_lite_stanford_background.py with
# SepViT-T as the student
# (configs/seg/fpn_sepvit_t_distilled_stanford_background.py).
_base_ = [
    '../seg/fpn_sepvit_t_distilled_stanford_background.py',
    '../_base_/distill/td_efficientnet_lite0_fpn_stanford_background.py'
]
model = dict(_base_.task_distiller, _delete_=True, student=_base_.model)
