# Copyright (c) mmsepvit contributors. All rights reserved.
from .sepvit import SepViT, StageNormLayoutError
from .simmim_sepvit import SimMIMSepViT

__all__ = ['SepViT', 'SimMIMSepViT', 'StageNormLayoutError']
