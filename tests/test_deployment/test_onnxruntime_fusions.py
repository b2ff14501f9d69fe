# Copyright (c) mmsepvit contributors. All rights reserved.
"""The fusion of a packed q/k/v projection and its attention into
onnxruntime's ``Attention``: made where it applies, left out where it does
not, and the fused graph equal to PyTorch either way."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsepvit.deployment import export_module, inference_session
from mmsepvit.deployment.onnx_export import INPUT_NAME


class PackedAttention(nn.Module):
    """Multi-head self-attention as mmpretrain's and timm's modules write it:
    one linear layer for q, k and v, split along the channels.
    ``expose_projection`` also returns the projection (used outside the
    attention)."""

    def __init__(self, dims=48, num_heads=3, expose_projection=False):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, 3 * dims)
        self.expose_projection = expose_projection

    def forward(self, tokens):
        N, L, _ = tokens.shape
        qkv = self.qkv(tokens)
        q, k, v = (
            part.view(N, L, self.num_heads, -1).transpose(1, 2)
            for part in qkv.chunk(3, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(1, 2).reshape(N, L, -1)
        return (out, qkv) if self.expose_projection else out


def fused_ops_and_outputs(module, tokens, tmp_path, dynamic_dims=()):
    import onnx
    onnx_file = str(tmp_path / 'fused.onnx')
    export_module(module.eval(), tokens[:2], onnx_file,
                  dynamic_dims=dynamic_dims, onnxruntime_fusions=True)
    ops = [node.op_type for node in onnx.load(onnx_file).graph.node]
    actual = inference_session(onnx_file).run(
        None, {INPUT_NAME: tokens.numpy()})
    with torch.no_grad():
        expected = module(tokens)
    if isinstance(expected, torch.Tensor):
        expected = (expected, )
    diffs = [(torch.from_numpy(a) - e).abs().max().item()
             for a, e in zip(actual, expected)]
    return ops, max(diffs)


def test_packed_projection_and_attention_become_one_operator(tmp_path):
    torch.manual_seed(0)
    tokens = torch.randn(5, 50, 48)
    ops, diff = fused_ops_and_outputs(
        PackedAttention(), tokens, tmp_path, dynamic_dims=(0, 1))
    assert ops.count('Attention') == 1
    for unfused in ('MultiHeadAttention', 'MatMul', 'Split', 'Add'):
        assert unfused not in ops
    assert diff < 1e-5


def test_a_projection_used_elsewhere_is_left_to_multi_head_attention(
        tmp_path):
    torch.manual_seed(0)
    tokens = torch.randn(2, 50, 48)
    ops, diff = fused_ops_and_outputs(
        PackedAttention(expose_projection=True), tokens, tmp_path)
    assert 'Attention' not in ops and 'MultiHeadAttention' in ops
    assert diff < 1e-5


@pytest.mark.parametrize(
    'weight_shape,split,axis', [((48, 192), (48, 48, 96), 2),
                                ((48, 48), (16, 16, 16), 1),
                                ((2, 48, 144), (48, 48, 48), 2)],
    ids=['unequal-parts', 'along-the-sequence', 'batched-weight'])
def test_only_thirds_of_one_linear_layer_are_fused(weight_shape, split,
                                                   axis):
    """On graphs made by hand: the exporter's fusions leave reshapes between
    such a split and the attention, so the rule never meets one there."""
    import onnx
    import onnx_ir as ir
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime import InferenceSession
    from onnxscript.rewriter import rewrite
    from onnxscript.rewriter.pattern import RewriteRuleSet

    from mmsepvit.deployment.onnxruntime_fusions import \
        PackedProjectionAttention
    rng = np.random.default_rng(0)
    weight = rng.standard_normal(weight_shape)
    bias = rng.standard_normal(weight_shape[-1])
    parts = ['query', 'key', 'value']
    graph = helper.make_graph([
        helper.make_node('MatMul', ['tokens', 'weight'], ['product']),
        helper.make_node('Add', ['product', 'bias'], ['qkv']),
        helper.make_node(
            'Split', ['qkv', 'split'], parts, axis=axis),
        helper.make_node(
            'MultiHeadAttention', parts, ['out'], domain='com.microsoft',
            num_heads=3)
    ], 'attention', [
        helper.make_tensor_value_info('tokens', TensorProto.FLOAT,
                                      [2, 48, 48])
    ], [helper.make_tensor_value_info('out', TensorProto.FLOAT, None)], [
        numpy_helper.from_array(weight.astype(np.float32), 'weight'),
        numpy_helper.from_array(bias.astype(np.float32), 'bias'),
        numpy_helper.from_array(np.array(split), 'split')
    ])
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid('', 20),
            helper.make_opsetid('com.microsoft', 1)
        ])
    model = onnx.shape_inference.infer_shapes(model)
    rewritten = ir.from_proto(model)
    rewrite(rewritten, RewriteRuleSet([PackedProjectionAttention.rule()]))
    rewritten = ir.to_proto(rewritten)
    assert [node.op_type for node in rewritten.graph.node] == [
        node.op_type for node in model.graph.node
    ]
    tokens = {'tokens': rng.standard_normal((2, 48, 48), np.float32)}
    expected, actual = (
        InferenceSession(proto.SerializeToString(),
                         providers=['CPUExecutionProvider']).run(
                             None, tokens)[0]
        for proto in (model, rewritten))
    assert np.array_equal(expected, actual)
