# Copyright (c) mmsepvit contributors. All rights reserved.
from .sepvit import SepViT

__all__ = ['SepViT']
