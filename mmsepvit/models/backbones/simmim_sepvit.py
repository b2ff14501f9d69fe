# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn

from mmsepvit.registry import MODELS
from .sepvit import SepViT


@MODELS.register_module()
class SimMIMSepViT(SepViT):
    """SepViT for SimMIM pretraining (`SimMIM: A Simple Framework for Masked
    Image Modeling <https://arxiv.org/abs/2111.09886>`_).

    The backbone of mmpretrain's ``SimMIM`` algorithm, as its
    ``SimMIMSwinTransformer``: ``forward(images, mask)`` encodes the images
    with the masked patches hidden, ``forward(images, None)`` is SepViT's
    forward. Its weights are SepViT's plus ``mask_token``, which SepViT
    drops when it loads such a checkpoint, so the Runner's checkpoint
    initialises the backbone of any config of the same SepViT settings
    directly (``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``), at any input size; learned per-window tokens are
    resampled to the new window grid.

    **Where the mask goes.** The mask has one value per token of the stem's
    stride-4 grid (mmpretrain's ``SimMIMMaskGenerator`` with
    ``model_patch_size=4`` and ``mask_patch_size=32``: blocks of 8x8
    tokens). Swin's stem is a 4x4 patch embedding without overlap, so
    replacing masked embeddings by the mask token hides every masked pixel.
    SepViT's stem is a 7x7 convolution of stride 4 and padding 3: the
    embedding of a visible token next to a masked block would still see up
    to three rows or columns of masked pixels. So the masked pixels are
    zeroed in the normalised image (the dataset's mean colour) before the
    stem, and the masked embeddings are replaced by the mask token after it.
    No embedding then depends on a masked pixel, and every later layer
    (attention, the position encodings' convolutions, the strided patch
    embeddings) only mixes embeddings.

    Args:
        **kwargs: The arguments of :class:`~mmsepvit.models.SepViT`.
            SimMIM's decoder reads one map: give one ``out_indices`` entry,
            usually the last stage (the default).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims[0]))

    def _init_weights_as_authors(self):
        super()._init_weights_as_authors()
        # SimMIM's init of its mask token.
        nn.init.trunc_normal_(self.mask_token, std=.02)

    def pixel_mask(self, mask: torch.Tensor,
                   size: Tuple[int, int]) -> torch.Tensor:
        """The token mask ``(B, h, w)`` of the stem's grid as a pixel mask
        ``(B, H, W)`` of images of ``size`` ``(H, W)``."""
        stride = self.strides[0]
        return mask.repeat_interleave(stride, 1).repeat_interleave(
            stride, 2)[:, :size[0], :size[1]]

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, ...]:
        """
        Args:
            x (Tensor): Images ``(B, C_in, H, W)``, normalised.
            mask (Tensor, optional): ``(B, ceil(H / 4), ceil(W / 4))``, 1
                where a token is masked. None: no masking.

        Returns:
            tuple[Tensor]: The maps of ``out_indices``, see
            :class:`~mmsepvit.models.SepViT`.
        """
        if mask is None:
            return super().forward(x)
        stride = self.strides[0]
        grid = tuple(-(-side // stride) for side in x.shape[2:])
        if mask.dim() != 3 or tuple(mask.shape) != (x.size(0), *grid):
            raise ValueError(
                f'SimMIMSepViT needs one mask value per stride-{stride} '
                f'token: a mask of shape {(x.size(0), *grid)} for images '
                f'{tuple(x.shape)}, got {tuple(mask.shape)}.')
        mask = mask.to(x.dtype)
        x = x * (1 - self.pixel_mask(mask, x.shape[2:]).unsqueeze(1))

        def put_mask_tokens(tokens, hw_shape):
            weight = mask.flatten(1).unsqueeze(-1)
            return tokens * (1 - weight) + self.mask_token * weight

        return self._forward_stages(x, put_mask_tokens)
