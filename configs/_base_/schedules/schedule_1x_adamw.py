# The authors' COCO 1x ("PVT setting"): 12 epochs, steps at 8 and
# 11, 500 warm-up iterations, AdamW.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-3))
