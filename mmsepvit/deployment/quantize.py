# Copyright (c) mmsepvit contributors. All rights reserved.
"""int8 weights for the linear layers of an exported graph, for onnxruntime
on CPUs."""
import logging


def quantize_linear_layers(onnx_file: str) -> None:
    """Rewrite ``onnx_file`` in place with its linear layers' weights in int8
    (onnxruntime's dynamic quantization: each activation is quantized as it
    arrives, its scale computed at run time, so no calibration data is
    needed).

    Only products with a weight are quantized: ``MatMul`` and the q/k/v
    projection inside a fused ``Attention`` (which becomes ``QAttention``).
    The attention products (two activations) and the convolutions stay
    float: onnxruntime's ``ConvInteger`` is slower than its float
    convolution (docs/deploy.md). The file's metadata (graph kind, class
    names) is kept, and it runs in onnxruntime only (``MatMulInteger`` and
    its ``com.microsoft`` operators).

    Args:
        onnx_file (str): A graph written by
            :func:`~mmsepvit.deployment.export_onnx` or
            :func:`~mmsepvit.deployment.export_module`.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    model = onnx.load(onnx_file)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    logging.root.addFilter(_expected_warnings)
    try:
        quantize_dynamic(
            model,
            onnx_file,
            op_types_to_quantize=['MatMul', 'Attention'],
            weight_type=QuantType.QInt8)
    finally:
        logging.root.removeFilter(_expected_warnings)
    quantized = onnx.load(onnx_file)
    # Ours only: the quantizer adds a non-JSON entry of its own.
    onnx.helper.set_model_props(quantized, metadata)
    onnx.save(quantized, onnx_file)


# What the quantizer warns on the root logger for every graph of ours, none
# of it about the result: a line per tensor of onnxruntime's own operators
# whose type it cannot infer (dozens in a fused graph), and advice to run
# its pre-processing first (``quant_pre_process``: on SepViT-T's fused graph
# it changed neither the int8 outputs nor the speed).
EXPECTED_WARNINGS = ('Failed to infer data type of tensor',
                     'Please consider to run pre-processing')


def _expected_warnings(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(EXPECTED_WARNINGS)
