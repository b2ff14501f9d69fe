# Copyright (c) mmsepvit contributors. All rights reserved.
from .simmim_decoder import SimMIMConvDecoder

__all__ = ['SimMIMConvDecoder']
