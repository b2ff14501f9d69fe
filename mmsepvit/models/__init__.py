# Copyright (c) mmsepvit contributors. All rights reserved.
from .backbones import SepViT, SimMIMSepViT, StageNormLayoutError
from .necks import SimMIMConvDecoder

__all__ = [
    'SepViT', 'SimMIMConvDecoder', 'SimMIMSepViT', 'StageNormLayoutError'
]
