# Copyright (c) mmsepvit contributors. All rights reserved.
"""What a SimMIM model makes of an image: the image, the image with the
masked patches greyed out, and the image with them reconstructed."""
from typing import List, NamedTuple, Sequence

import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from mmsepvit.utils import ConfigMismatchError

# The grey the masked patches are drawn in.
MASK_GREY = 127


class Reconstruction(NamedTuple):
    """RGB ``uint8`` images ``(S, S, 3)`` of one input, ``S`` the size the
    model was pretrained at; ``mask`` is ``(S, S)``, True where masked."""
    original: np.ndarray
    masked: np.ndarray
    reconstructed: np.ndarray
    mask: np.ndarray


def mask_generator_cfg(cfg: Config) -> dict:
    """The ``SimMIMMaskGenerator`` step of a SimMIM config's training
    pipeline."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'SimMIMMaskGenerator':
            return dict(step)
    raise ConfigMismatchError(
        f'{cfg.filename} has no SimMIMMaskGenerator in its training '
        f'pipeline: give a SimMIM config, such as '
        f'configs/selfsup/simmim_sepvit_lite_small_data.py.')


def _as_image(pixels: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` RGB values -> ``(H, W, 3)`` ``uint8``."""
    return pixels.clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def reconstruct(model: nn.Module, cfg: Config, images: Sequence[str],
                seed: int = 0) -> List[Reconstruction]:
    """Mask each image as the config's pretraining does and let ``model``
    reconstruct it.

    Each image is resized (shorter side) and centre-cropped to the mask
    generator's ``input_size``; its mask is drawn by that generator from
    numpy's generator seeded with ``seed + i`` for the ``i``-th image.

    Args:
        model (nn.Module): A built ``SimMIM`` model with its weights.
        cfg (Config): Its config.
        images (Sequence[str]): Image files.
        seed (int): Seed of the masks. Defaults to 0.
    """
    from mmpretrain.datasets.transforms import (CenterCrop, ResizeEdge,
                                                SimMIMMaskGenerator)
    generator_cfg = mask_generator_cfg(cfg)
    generator_cfg.pop('type')
    size = generator_cfg['input_size']
    resize = ResizeEdge(scale=size, edge='short')
    crop = CenterCrop(crop_size=size)
    masker = SimMIMMaskGenerator(**generator_cfg)
    preprocessor = model.data_preprocessor
    mean = preprocessor.mean.view(3, 1, 1)
    std = preprocessor.std.view(3, 1, 1)
    model.eval()
    results = []
    for i, image in enumerate(images):
        bgr = crop(resize(dict(img=mmcv.imread(image))))['img']
        state = np.random.get_state()
        np.random.seed(seed + i)
        mask = torch.from_numpy(masker({})['mask'])[None]
        np.random.set_state(state)
        inputs = preprocessor(
            dict(
                inputs=torch.from_numpy(bgr).permute(2, 0, 1)[None],
                data_samples=None))['inputs']
        prediction = model.neck(model.backbone(inputs, mask)[0])
        pixel_mask = model.backbone.pixel_mask(mask,
                                               inputs.shape[2:])[0].bool()
        original = inputs[0] * std + mean
        reconstructed = torch.where(pixel_mask, prediction[0] * std + mean,
                                    original)
        masked = original.masked_fill(pixel_mask, MASK_GREY)
        results.append(
            Reconstruction(
                _as_image(original), _as_image(masked),
                _as_image(reconstructed), pixel_mask.cpu().numpy()))
    return results
