# Copyright (c) mmsepvit contributors. All rights reserved.
from .backbones import SepViT, SimMIMSepViT, StageNormLayoutError
from .distillers import FeatureDistiller
from .necks import SimMIMConvDecoder

__all__ = [
    'FeatureDistiller', 'SepViT', 'SimMIMConvDecoder', 'SimMIMSepViT',
    'StageNormLayoutError'
]
