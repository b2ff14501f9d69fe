# Copyright (c) mmsepvit contributors. All rights reserved.
from .backbones import SepViT, SimMIMSepViT, StageNormLayoutError
from .distillers import FeatureDistiller, TaskDistiller
from .losses import (ChannelWiseDivergence, PearsonFeatureDistance,
                     PixelWiseDivergence)
from .necks import SimMIMConvDecoder

__all__ = [
    'ChannelWiseDivergence', 'FeatureDistiller', 'PearsonFeatureDistance',
    'PixelWiseDivergence', 'SepViT', 'SimMIMConvDecoder', 'SimMIMSepViT',
    'StageNormLayoutError', 'TaskDistiller'
]
