# Copyright (c) mmsepvit contributors. All rights reserved.
from .complexity import ModelComplexity, get_model_complexity
from .inference import (build_inferencer, build_model, check_image,
                        draw_prediction, save_prediction)
from .model_index import (get_config_path, list_models, load_model_index,
                          register_in_model_hub)
from .simmim import Reconstruction, reconstruct


__all__ = [
    'ModelComplexity', 'build_inferencer', 'build_model', 'check_image',
    'draw_prediction', 'get_config_path', 'get_model_complexity',
    'list_models', 'load_model_index', 'register_in_model_hub',
    'Reconstruction', 'reconstruct', 'save_prediction'
]
