# Copyright (c) mmsepvit contributors. All rights reserved.
from .onnx_export import (deploy_graph, export_module, export_onnx,
                          read_metadata)
from .onnx_runtime import (OnnxRuntimeModel, default_providers,
                           inference_session)
from .quantize import quantize_linear_layers

__all__ = [
    'deploy_graph', 'export_module', 'export_onnx', 'read_metadata',
    'OnnxRuntimeModel', 'default_providers', 'inference_session',
    'quantize_linear_layers'
]
