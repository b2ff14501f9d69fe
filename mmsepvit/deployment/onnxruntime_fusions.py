# Copyright (c) mmsepvit contributors. All rights reserved.
"""onnxruntime's transformer fusions for an exported graph: onnxscript's,
and the one they lack, attention with a packed q/k/v projection."""
import onnx_ir as ir
from onnxscript.rewriter import rewrite
from onnxscript.rewriter.pattern import (AttrVar, MatchResult,
                                         RewriteRuleClassBase, RewriteRuleSet)
from onnxscript.rewriter.ort_fusions import optimize_for_ort


class PackedProjectionAttention(RewriteRuleClassBase):
    """``MatMul + Add -> Split in three -> MultiHeadAttention`` into
    onnxruntime's ``Attention``, which computes the projection and the
    attention in one operator.

    onnxscript makes an ``Attention`` of a packed projection only when each
    third gets its own bias add after the split (its ``fuse_mha_bias``, then
    ``fuse_attention``). A linear layer with one bias of ``3 * C`` (SepViT's
    depthwise attention, as mmpretrain's and timm's attention modules make
    q, k and v) stays ``MatMul``, ``Add``, ``Split`` and
    ``MultiHeadAttention``, which onnxruntime's CPU provider runs as a
    ``Gemm`` with its bias and a copy of the three thirds apart, slower
    than one ``Attention`` (docs/deploy.md).
    """

    def pattern(self, op, inputs, weight, bias, num_heads):
        qkv = op.Add(op.MatMul(inputs, weight), bias)
        query, key, value = op.Split(
            qkv,
            _allow_other_inputs=True,
            _allow_other_attributes=True,
            _outputs=['query', 'key', 'value'])
        return op.MultiHeadAttention(
            query,
            key,
            value,
            num_heads=num_heads,
            scale=AttrVar('scale', can_match_none=True),
            _domain='com.microsoft')

    def check(self, context, weight, bias, query, key, value,
              **_) -> MatchResult:
        result = MatchResult()
        if weight.shape is None or bias.shape is None:
            return result.fail('The projection\'s shapes are not known.')
        width = weight.shape[-1]
        if weight.shape.rank() != 2 or list(bias.shape) != [width]:
            return result.fail('Not one linear layer.', weight)
        # Also refuses a split along another axis: its parts keep 3 * C.
        for part in (query, key, value):
            if part.shape is None or part.shape[-1] * 3 != width:
                return result.fail('Not split in three equal parts.', part)
        return result

    def rewrite(self, op, inputs, weight, bias, num_heads, scale, **_):
        return op.Attention(
            inputs,
            weight,
            bias,
            num_heads=num_heads,
            scale=scale,
            _domain='com.microsoft')


def fuse_for_onnxruntime(model: ir.Model) -> None:
    """Rewrite an exported graph in place with onnxruntime's own operators
    (domain ``com.microsoft``).

    onnxscript's ``optimize_for_ort`` first: attention into
    ``MultiHeadAttention``, residual add and LayerNorm into
    ``SkipLayerNormalization``, bias and GELU into ``BiasGelu``; then
    :class:`PackedProjectionAttention` (SepViT's depthwise attention with
    its q/k/v projection into ``Attention``).

    Args:
        model (onnx_ir.Model): The exported graph.
    """
    optimize_for_ort(model)
    rewrite(model, RewriteRuleSet([PackedProjectionAttention.rule()]))
