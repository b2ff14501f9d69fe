# Copyright (c) mmsepvit contributors. All rights reserved.
from .shapes import (SEG_CLASSES, SEG_PALETTE, SHAPE_CLASSES,
                     make_shapes_datasets)

__all__ = [
    'make_shapes_datasets', 'SHAPE_CLASSES', 'SEG_CLASSES', 'SEG_PALETTE'
]
