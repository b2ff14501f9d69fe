# Copyright (c) mmsepvit contributors. All rights reserved.
from .shapes import (CROWDED_SCENES, SEG_CLASSES, SEG_PALETTE, SHAPE_CLASSES,
                     make_crowded_shapes_dataset, make_shapes_datasets)

__all__ = [
    'make_shapes_datasets', 'make_crowded_shapes_dataset', 'CROWDED_SCENES',
    'SHAPE_CLASSES', 'SEG_CLASSES', 'SEG_PALETTE'
]
