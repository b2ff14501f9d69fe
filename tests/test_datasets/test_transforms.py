# Copyright (c) mmsepvit contributors. All rights reserved.
"""LoadReducedImageFromFile: a large JPEG decoded at the largest reduction
that keeps the shorter side, close to the full decode resized; small images
exactly as LoadImageFromFile decodes them; through a config's pipeline."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmsepvit.datasets import LoadReducedImageFromFile

REPO = Path(__file__).resolve().parents[2]


def photo(path, width, height):
    """A smooth colour image with some edges, saved as a JPEG."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([
        127 + 100 * np.sin(x / 37.0), 127 + 100 * np.cos(y / 23.0),
        (x + y) % 256
    ], axis=-1).astype(np.uint8)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return str(path)


@pytest.mark.parametrize('size,min_side,factor', [
    ((1920, 1080), 272, 2),
    ((1920, 1080), 135, 8),
    ((1920, 1080), 200, 4),
    ((320, 240), 136, 1),
])
def test_a_large_photo_is_decoded_reduced(tmp_path, size, min_side, factor):
    path = photo(tmp_path / 'photo.jpg', *size)
    loaded = LoadReducedImageFromFile(min_side)(dict(img_path=path))
    full = LoadImageFromFile()(dict(img_path=path))['img']
    height, width = size[1] // factor, size[0] // factor
    assert loaded['img'].shape == (height, width, 3)
    assert loaded['img_shape'] == loaded['ori_shape'] == (height, width)
    assert min(height, width) >= min_side
    if factor == 1:
        assert np.array_equal(loaded['img'], full)
    else:  # the DCT's scaling: an area downsampling, up to JPEG's rounding
        resized = cv2.resize(full, (width, height),
                             interpolation=cv2.INTER_AREA)
        difference = np.abs(loaded['img'].astype(int) - resized)
        assert difference.mean() < 3


def test_it_is_a_config_transform(tmp_path):
    init_default_scope('mmpretrain')
    pipeline = Compose([
        dict(type='mmsepvit.LoadReducedImageFromFile', min_side=200),
        dict(type='RandomResizedCrop', scale=192)
    ])
    out = pipeline(dict(img_path=photo(tmp_path / 'a.jpg', 1600, 900)))
    assert out['ori_shape'] == (225, 400)
    assert out['img'].shape == (192, 192, 3)
    with pytest.raises(ValueError, match="color_type='color'"):
        LoadReducedImageFromFile(200, color_type='grayscale')


def test_an_unlabeled_image_gets_an_ignored_label_map(tmp_path):
    """Through the Stanford Background training pipeline and the student's
    data preprocessor: the label map is resized, cropped and flipped with the
    image (a resize below the crop size included) and padded with the ignore
    index, so the batch is ignored everywhere and the decode head's
    cross-entropy (averaged over labelled pixels) is zero."""
    import torch
    from mmengine.config import Config
    from mmseg.models.losses import CrossEntropyLoss
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        REPO / 'configs' / 'distill' /
        'td_fpn_efficientnet_lite0_sepvit_lite_stanford_background_'
        'unlabeled.py')
    unlabeled = cfg.train_dataloader.dataset.datasets[1]
    pipeline = Compose(unlabeled.pipeline)
    preprocessor = MODELS.build(cfg.model.student.data_preprocessor)
    loss = CrossEntropyLoss(**{
        k: v for k, v in
        cfg.model.student.decode_head.loss_decode.items() if k != 'type'
    })
    image = photo(tmp_path / 'a.jpg', 320, 240)
    crops = set()
    for seed in range(12):  # resize ratios from 0.75 to 1.5 of 320x240
        np.random.seed(seed)
        packed = pipeline(dict(img_path=image, seg_fields=[],
                               reduce_zero_label=False))
        labels = packed['data_samples'].gt_sem_seg.data
        assert labels.shape == (1, *packed['inputs'].shape[1:])
        crops.add(tuple(labels.shape[1:]))
        batch = preprocessor(dict(inputs=[packed['inputs']],
                                  data_samples=[packed['data_samples']]),
                             training=True)
        labels = batch['data_samples'][0].gt_sem_seg.data
        assert batch['inputs'].shape == (1, 3, 192, 192)
        assert labels.shape == (1, 192, 192)
        assert (labels == 255).all()
        assert loss(torch.randn(1, 8, 192, 192), labels.long(),
                    ignore_index=255).item() == 0
    assert (192, 192) in crops and len(crops) > 1  # both cases were seen
