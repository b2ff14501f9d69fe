# mmseg's ADE20K 512x512 setting with the authors' 2 images per GPU.
_base_ = 'mmseg::_base_/datasets/ade20k.py'

train_dataloader = dict(batch_size=2)
# Stop at labels that are neither a class nor the ignore index.
custom_hooks = [dict(type='mmsepvit.SegLabelCheckHook')]
