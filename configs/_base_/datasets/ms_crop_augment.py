# DETR-style multi-scale training augmentation of the 3x recipes: short side
# 480-800 (step 32), or resize 400-600 -> random crop 384-600 -> resize.
ms_scales = [(s, 1333) for s in range(480, 801, 32)]
ms_crop_augment = [
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=ms_scales,
                            keep_ratio=True)
                    ]])
]
