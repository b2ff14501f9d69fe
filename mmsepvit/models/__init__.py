# Copyright (c) mmsepvit contributors. All rights reserved.
from .backbones import SepViT

__all__ = ['SepViT']
