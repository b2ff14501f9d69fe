# Copyright (c) mmsepvit contributors. All rights reserved.
import io

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from PIL import Image

from mmsepvit.registry import TRANSFORMS

# OpenCV's reduced decodings: JPEG's DCT scaling (libjpeg) decodes at 1/2,
# 1/4 or 1/8 of the size for a fraction of the work; other formats are
# decoded whole and resized.
REDUCED_COLOR = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8
}


@TRANSFORMS.register_module()
class LoadReducedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that decodes a large image at 1/2, 1/4
    or 1/8 of its size: the largest reduction whose shorter side is still
    at least ``min_side``.

    For pipelines that crop small views of large photos (distillation and
    SimMIM on your own images): a 1920x1080 JPEG cropped to 192² needs
    nothing like its full resolution, and decoding it whole costs most of a
    data worker's time. Images with a shorter side below ``2 * min_side``
    are decoded as ``LoadImageFromFile`` decodes them. Pixel annotations
    would no longer match: use it for images alone.

    Args:
        min_side (int): The shorter side the decoded image keeps at least.
            For ``RandomResizedCrop(scale=S, crop_ratio_range=(a, 1))``
            (aspect ratios 3/4 to 4/3), ``S / sqrt(0.75 * a)`` keeps every
            crop at least ``S`` pixels before its resize.
        **kwargs: ``LoadImageFromFile``'s arguments; ``color_type`` must
            be ``'color'`` and ``imdecode_backend`` ``'cv2'``.
    """

    def __init__(self, min_side: int, **kwargs):
        super().__init__(**kwargs)
        if self.color_type != 'color' or self.imdecode_backend != 'cv2':
            raise ValueError(
                "LoadReducedImageFromFile decodes colour images with cv2: "
                f"color_type='color' and imdecode_backend='cv2', got "
                f'{self.color_type!r} and {self.imdecode_backend!r}.')
        self.min_side = min_side

    def reduction(self, image_bytes: bytes) -> int:
        """1, 2, 4 or 8: how much smaller to decode the image."""
        try:  # the header only
            short = min(Image.open(io.BytesIO(image_bytes)).size)
        except Exception:  # undecodable: let the decoder say so
            return 1
        factor = 1
        while factor < 8 and short // (2 * factor) >= self.min_side:
            factor *= 2
        return factor

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        image_bytes = fileio.get(filename, backend_args=self.backend_args)
        factor = self.reduction(image_bytes)
        image = mmcv.imfrombytes(
            image_bytes,
            flag=REDUCED_COLOR.get(factor, self.color_type),
            backend='cv2')
        if image is None:
            raise ValueError(f'failed to load image: {filename}')
        if self.to_float32:
            image = image.astype('float32')
        results['img'] = image
        results['img_shape'] = results['ori_shape'] = image.shape[:2]
        return results


@TRANSFORMS.register_module()
class UnlabeledSegMap(BaseTransform):
    """A label map of ``ignore_index`` everywhere, in place of
    ``LoadAnnotations``, for images without labels in a segmentation
    pipeline: the crops, flips and resizes that follow treat it as a label
    map, and the segmentation losses ignore every pixel of it, so a task
    distiller's teacher is the only target on such images.

    Args:
        ignore_index (int): The label losses ignore. Defaults to 255.
    """

    def __init__(self, ignore_index: int = 255):
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        results['gt_seg_map'] = np.full(results['img'].shape[:2],
                                        self.ignore_index, np.uint8)
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results
