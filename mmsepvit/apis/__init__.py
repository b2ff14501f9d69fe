# Copyright (c) mmsepvit contributors. All rights reserved.
from .inference import (build_inferencer, build_model, check_image,
                        draw_prediction, save_prediction)

__all__ = [
    'build_inferencer', 'build_model', 'check_image', 'draw_prediction',
    'save_prediction'
]
