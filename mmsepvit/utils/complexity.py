# Copyright (c) mmsepvit contributors. All rights reserved.
"""FLOPs counted the way the SepViT authors report them.

The authors count with fvcore: one multiply-accumulate is one flop and the
attention matrix products are included. mmengine's ``FlopAnalyzer`` is a
port of fvcore, but it does not know PyTorch's fused attention operator,
which mmsepvit uses; :func:`sdpa_flop_jit` teaches it.
"""
from math import prod
from typing import Any, List, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-accumulates of ``aten::scaled_dot_product_attention``:
    ``q @ k^T`` and ``attn @ v``."""
    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    *batch, q_len, qk_dims = q_shape
    return prod(batch) * q_len * k_shape[-2] * (qk_dims + v_shape[-1])


def flop_analyzer(
        model: nn.Module,
        inputs: Union[torch.Tensor, Tuple[Any, ...]]) -> FlopAnalyzer:
    """An mmengine ``FlopAnalyzer`` that also counts fused attention.

    Args:
        model (nn.Module): The model; its ``forward`` is traced.
        inputs (Tensor | tuple): The inputs of ``model.forward``.

    Returns:
        FlopAnalyzer: Call ``.total()`` or ``.by_module()`` on it.
    """
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer
