# Copyright (c) mmsepvit contributors. All rights reserved.
from .backbones import SepViT, SimMIMSepViT, StageNormLayoutError

__all__ = ['SepViT', 'SimMIMSepViT', 'StageNormLayoutError']
