# Copyright (c) mmsepvit contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN


class _GELULinear(torch.autograd.Function):
    """``linear(gelu(h), weight, bias)`` that keeps only ``h`` for the
    backward pass and recomputes ``gelu(h)`` there.

    Plain autograd keeps both ``h`` (for GELU's gradient) and ``gelu(h)``
    (for the weight gradient). The products run in ``h``'s dtype, which is
    what autocast gives ``linear`` in both passes.
    """

    @staticmethod
    def forward(ctx, h, weight, bias, approximate):
        ctx.save_for_backward(h, weight)
        ctx.approximate = approximate
        return F.linear(
            F.gelu(h, approximate=approximate), weight.to(h.dtype),
            bias.to(h.dtype))

    @staticmethod
    def backward(ctx, grad_out):
        h, weight = ctx.saved_tensors
        grad_out = grad_out.to(h.dtype)
        grad_h = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_h = torch.ops.aten.gelu_backward(
                grad_out @ weight.to(h.dtype), h, approximate=ctx.approximate)
        rows = grad_out.reshape(-1, grad_out.size(-1))
        if ctx.needs_input_grad[1]:
            activated = F.gelu(h, approximate=ctx.approximate)
            grad_weight = rows.t() @ activated.reshape(-1, h.size(-1))
        if ctx.needs_input_grad[2]:
            grad_bias = rows.sum(0)
        return grad_h, grad_weight, grad_bias, None


class GELURecomputingFFN(FFN):
    """mmcv's :class:`~mmcv.cnn.bricks.transformer.FFN` that keeps half the
    hidden activations for the backward pass.

    A two-layer GELU MLP of hidden width ``F`` normally keeps ``2F`` values
    per token for backward: the hidden pre-activation and its GELU. This one
    keeps the pre-activation alone and recomputes the GELU in the backward
    pass (an elementwise op, cheap next to the two products). Parameters,
    state-dict keys and outputs are mmcv's; gradients equal plain autograd's
    up to rounding. It applies in training mode while gradients are
    recorded (not under ``torch.jit.trace``) and when the hidden dropout,
    layer scale and a third layer are off (SepViT's settings); otherwise
    this is mmcv's FFN unchanged.

    Args:
        **kwargs: The arguments of mmcv's ``FFN``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        hidden, *rest = self.layers
        self.recompute_gelu = (
            self.num_fcs == 2 and isinstance(hidden[1], nn.GELU)
            and all(drop.p == 0 for drop in (hidden[2], rest[1]))
            and isinstance(self.gamma2, nn.Identity))

    def forward(self,
                x: torch.Tensor,
                identity: torch.Tensor = None) -> torch.Tensor:
        """``(..., C)`` in and out; adds ``identity`` (default ``x``)."""
        # Tracers (FLOP counters, TorchScript export) cannot look into an
        # autograd Function: outside training they see mmcv's ops.
        if not (self.recompute_gelu and self.training
                and torch.is_grad_enabled() and not torch.jit.is_tracing()):
            return super().forward(x, identity)
        (fc1, act, _), fc2, _ = self.layers
        out = _GELULinear.apply(fc1(x), fc2.weight, fc2.bias, act.approximate)
        if not self.add_identity:
            return self.dropout_layer(out)
        return (x if identity is None else identity) + self.dropout_layer(out)
