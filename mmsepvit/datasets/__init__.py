# Copyright (c) mmsepvit contributors. All rights reserved.
from .transforms import LoadReducedImageFromFile, UnlabeledSegMap

__all__ = ['LoadReducedImageFromFile', 'UnlabeledSegMap']
