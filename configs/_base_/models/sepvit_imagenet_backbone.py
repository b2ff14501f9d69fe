# The SepViT backbone of the ImageNet configs (cls/ and the ImageNet
# recipes of selfsup/): the authors' ImageNet model, with a learned window
# token per window position at img_size, no pointwise attention in blocks
# whose window covers the whole map, and no norms between stages.
custom_imports = dict(imports=['mmsepvit'], allow_failed_imports=False)
sepvit_imagenet_backbone = dict(
    type='mmsepvit.SepViT',
    arch='tiny',
    img_size=224,
    window_token='per_window',
    single_window_pwa=False,
    stage_norms='outputs')
