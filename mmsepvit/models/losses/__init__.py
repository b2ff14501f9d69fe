# Copyright (c) mmsepvit contributors. All rights reserved.
from .distillation import (ChannelWiseDivergence, PearsonFeatureDistance,
                           PixelWiseDivergence)

__all__ = [
    'ChannelWiseDivergence', 'PearsonFeatureDistance', 'PixelWiseDivergence'
]
