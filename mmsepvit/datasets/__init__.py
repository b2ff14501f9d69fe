# Copyright (c) mmsepvit contributors. All rights reserved.
from .transforms import LoadReducedImageFromFile

__all__ = ['LoadReducedImageFromFile']
