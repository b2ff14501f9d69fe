# Copyright (c) mmsepvit contributors. All rights reserved.
"""Export a classifier, segmentor or detector of any mmsepvit config to ONNX.

The graph starts where the model's ``forward`` starts: a normalised NCHW
float batch, what the data preprocessor hands over. It ends where each host
toolbox's own post-processing begins (see :func:`deploy_graph`), so
:class:`~mmsepvit.deployment.OnnxRuntimeModel` can finish the job with that
toolbox's code.

PyTorch's dynamo exporter is used (``torch.export`` then
``torch.onnx.export(..., dynamo=True)``, opset 20): it records the window
padding as arithmetic on symbolic sizes, so a graph exported with dynamic
height and width pads correctly at every size. The TorchScript exporter
(deprecated) turns the same Python integer arithmetic into constants of the
export size.
"""
import copy
import json
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.export import Dim
from torch.fx.experimental.symbolic_shapes import is_concrete_int

from mmsepvit.hosts import HOSTS, resolve
from .quantize import quantize_linear_layers

INPUT_NAME = 'inputs'
# Opset 20 has a Gelu operator: onnxruntime runs it as one kernel instead
# of opset 18's Div-Erf-Add-Mul-Mul chain.
OPSET = 20
# Graph kinds, stored in the model's metadata for the runtime.
CLASSIFIER = 'classifier'
SEGMENTOR = 'segmentor'
SINGLE_STAGE_DETECTOR = 'single_stage_detector'
TWO_STAGE_DETECTOR = 'two_stage_detector'


class ClassifierGraph(nn.Module):
    """Image -> class logits ``(N, num_classes)`` (before softmax)."""
    kind = CLASSIFIER

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs, mode='tensor')

    def output_names(self, outputs) -> List[str]:
        return ['logits']


class SegmentorGraph(nn.Module):
    """Image -> per-pixel class logits ``(N, num_classes, H, W)`` at the
    input size, resized as the decode head's own ``predict_by_feat`` does
    for whole-image inference."""
    kind = SEGMENTOR

    def __init__(self, model: nn.Module):
        super().__init__()
        mode = (model.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(
                f"Only whole-image segmentors export (test_cfg.mode='whole'); "
                f'this one uses {mode!r} inference, which tiles the image '
                f'outside the network.')
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.model(inputs, mode='tensor')
        return F.interpolate(
            logits,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=self.model.decode_head.align_corners)

    def output_names(self, outputs) -> List[str]:
        return ['seg_logits']


class SingleStageDetectorGraph(nn.Module):
    """Image -> the head's raw outputs, one tensor per FPN level and kind
    (``cls_score_i``, ``bbox_pred_i``, ...): what the head's
    ``predict_by_feat`` consumes."""
    kind = SINGLE_STAGE_DETECTOR

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> Tuple[List[torch.Tensor]]:
        return self.model(inputs, mode='tensor')

    def output_names(self, outputs) -> List[str]:
        kinds = ('cls_score', 'bbox_pred', 'score_factor')
        return [
            f'{kinds[k]}_{i}' for k, level_outputs in enumerate(outputs)
            for i in range(len(level_outputs))
        ]


class TwoStageDetectorGraph(nn.Module):
    """Image -> the neck's feature maps and the RPN head's raw outputs
    (``feature_i``, ``rpn_cls_score_i``, ``rpn_bbox_pred_i``).

    The RoI stages stay out of the graph: they run on proposals chosen by
    non-maximum suppression (a data-dependent number of boxes) and pool
    them with mmcv's ``RoIAlign``, a compiled extension that neither
    ``torch.export`` nor ONNX knows. The runtime feeds the features to the
    checkpoint's RoI head in PyTorch.
    """
    kind = TWO_STAGE_DETECTOR

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> Tuple[Tuple[torch.Tensor]]:
        features = self.model.extract_feat(inputs)
        cls_scores, bbox_preds = self.model.rpn_head(features)
        return tuple(features), tuple(cls_scores), tuple(bbox_preds)

    def output_names(self, outputs) -> List[str]:
        features, cls_scores, bbox_preds = outputs
        return ([f'feature_{i}' for i in range(len(features))] +
                [f'rpn_cls_score_{i}' for i in range(len(cls_scores))] +
                [f'rpn_bbox_pred_{i}' for i in range(len(bbox_preds))])


# Each host toolbox's export_graphs name these kinds.
GRAPHS = {
    graph.kind: graph
    for graph in (ClassifierGraph, SegmentorGraph, SingleStageDetectorGraph,
                  TwoStageDetectorGraph)
}


def deploy_graph(model: nn.Module) -> nn.Module:
    """The module to export for a host toolbox's model.

    Args:
        model (nn.Module): An mmpretrain ``ImageClassifier``, an mmseg
            segmentor or an mmdet single- or two-stage detector.

    Returns:
        nn.Module: One of :class:`ClassifierGraph`, :class:`SegmentorGraph`,
        :class:`SingleStageDetectorGraph`, :class:`TwoStageDetectorGraph`.
    """
    for host in HOSTS.values():
        for model_class, kind in host.export_graphs:
            try:
                model_class = resolve(model_class)
            except ImportError:  # a toolbox that is not installed
                continue
            if isinstance(model, model_class):
                return GRAPHS[kind](model)
    raise TypeError(
        f'No ONNX export for {type(model).__name__}: supported are image '
        f'classifiers, segmentors and single- or two-stage detectors.')


class IntegerUpsample(nn.Module):
    """Upsampling by an integer factor, with the output size computed from
    the symbolic input size.

    Stands in for mmseg 1.2.2's ``Upsample`` (in FPNHead's scale heads) in
    exported graphs: that module computes its output size in Python as
    ``int(size * scale_factor)``, a float round trip that ``torch.export``
    can only evaluate, so a dynamic graph would upsample every input to the
    export size's maps. For an integer factor the interpolation is the same
    (input/output size ratio equals ``1 / factor``).
    """

    def __init__(self, factor: int, mode: str, align_corners):
        super().__init__()
        self.factor = factor
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            x,
            size=(x.size(2) * self.factor, x.size(3) * self.factor),
            mode=self.mode,
            align_corners=self.align_corners)


class SliceAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` to a fixed grid, as means over slices whose
    bounds are computed from the symbolic input size.

    Stands in for the pyramid pooling of UPerHead (``AdaptiveAvgPool2d`` to
    1, 2, 3 and 6 bins) in dynamic graphs: PyTorch's decomposition of
    adaptive pooling gathers at indices computed for the export size, so
    other sizes read out of bounds. Bin ``i`` of ``n`` over ``L`` inputs
    spans ``[floor(i * L / n), ceil((i + 1) * L / n))``, as in PyTorch; the
    ceiling is written with non-negative operands only, because ONNX integer
    division truncates where Python's floors.
    """

    def __init__(self, output_size: Tuple[int, int]):
        super().__init__()
        self.output_size = output_size

    @staticmethod
    def _bins(length, num_bins: int):
        return [(i * length // num_bins,
                 ((i + 1) * length + num_bins - 1) // num_bins)
                for i in range(num_bins)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows_out, cols_out = self.output_size
        col_bins = self._bins(x.size(3), cols_out)
        rows = []
        for top, bottom in self._bins(x.size(2), rows_out):
            rows.append(
                torch.cat([
                    x[:, :, top:bottom, left:right].mean((2, 3), keepdim=True)
                    for left, right in col_bins
                ], 3))
        return torch.cat(rows, 2)


def _size_independent(module: nn.Module,
                      upsample_class: Optional[type]) -> Optional[nn.Module]:
    """The stand-in for ``module`` in a dynamic graph, if it needs one."""
    if isinstance(module, nn.AdaptiveAvgPool2d):
        size = module.output_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if all(isinstance(s, int) for s in size):
            return SliceAdaptiveAvgPool2d(size)
    factor = getattr(module, 'scale_factor', None)
    if (upsample_class is not None and isinstance(module, upsample_class)
            and not module.size and isinstance(factor, float)
            and factor.is_integer()):
        return IntegerUpsample(int(factor), module.mode, module.align_corners)
    return None


def make_size_independent(module: nn.Module) -> None:
    """Swap, in place, the host toolboxes' modules that would freeze the
    export size into a dynamic graph for equivalent ones that do not."""
    try:
        from mmseg.models.utils import Upsample
    except ImportError:
        Upsample = None
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            stand_in = _size_independent(child, Upsample)
            if stand_in is not None:
                setattr(parent, name, stand_in)


def min_dynamic_size(backbone: nn.Module) -> int:
    """The smallest square input side at which every stage of ``backbone``
    splits into at least two windows per side.

    ``torch.export`` treats sizes that are 1 while tracing as constants, so
    a window grid of 1 at the export size would be frozen into the graph.
    """
    side = 0
    for stage, stride in zip(backbone.stages, backbone.strides):
        window = max(block.attn.window_size for block in stage.blocks)
        side = max(side, stride * (window + 1))
    return side


def export_onnx(model: nn.Module,
                out_file: str,
                shape: Tuple[int, int],
                dynamic: bool = False,
                metadata: Optional[Dict[str, object]] = None,
                onnxruntime_fusions: bool = False,
                int8_linear_weights: bool = False) -> nn.Module:
    """Export a host toolbox's model to ``out_file``.

    Args:
        model (nn.Module): A host toolbox's model with a SepViT backbone,
            see :func:`deploy_graph`.
        out_file (str): The ``.onnx`` file to write.
        shape (tuple[int, int]): ``(H, W)`` of the example input.
        dynamic (bool): Whether batch, height and width are dynamic in the
            graph. Height and width stay fixed for a backbone that learned
            one window token per window position (the ImageNet models).
            Defaults to False.
        metadata (dict, optional): Written into the model's metadata as
            JSON values (``dataset_meta``, ...).
        onnxruntime_fusions (bool): Whether to fuse the graph for
            onnxruntime, see :func:`export_module`. Defaults to False.
        int8_linear_weights (bool): Whether the linear layers' weights
            are int8, see :func:`export_module`. Defaults to False.

    Returns:
        nn.Module: The exported graph module, for checking the file.
    """
    backbone = model.backbone
    if not backbone.accepts_any_size and tuple(shape) != backbone.img_size:
        raise ValueError(
            f'This backbone learned one window token per window position '
            f'of {backbone.img_size[0]}x{backbone.img_size[1]} inputs: '
            f'export it at that size, not {shape[0]}x{shape[1]}.')
    dynamic_dims = ()
    if dynamic:
        dynamic_dims = (0, 2, 3) if backbone.accepts_any_size else (0, )
    if 2 in dynamic_dims and min(shape) < min_dynamic_size(backbone):
        side = min_dynamic_size(backbone)
        raise ValueError(
            f'A dynamic export needs an example input of at least '
            f'{side}x{side} for this backbone (every stage at least two '
            f'windows per side, or the exporter freezes the window grid '
            f'into the graph); got {shape[0]}x{shape[1]}. The graph then '
            f'runs at any size.')
    graph = deploy_graph(copy.deepcopy(model).eval())
    if 2 in dynamic_dims:
        make_size_independent(graph)
    export_module(
        graph,
        torch.rand(1, backbone.in_channels, *shape),
        out_file,
        dynamic_dims=dynamic_dims,
        metadata=dict(metadata or {}, mmsepvit_graph=graph.kind),
        onnxruntime_fusions=onnxruntime_fusions,
        int8_linear_weights=int8_linear_weights)
    return graph


def export_module(module: nn.Module,
                  example: torch.Tensor,
                  out_file: str,
                  dynamic_dims: Sequence[int] = (),
                  metadata: Optional[Dict[str, object]] = None,
                  onnxruntime_fusions: bool = False,
                  int8_linear_weights: bool = False) -> None:
    """Export ``module`` (one tensor in, tensors or nested sequences of
    tensors out) with PyTorch's dynamo exporter.

    Args:
        module (nn.Module): The module, in eval mode. If it has an
            ``output_names(outputs)`` method, the outputs get those names.
        example (Tensor): An example input ``(N, C, H, W)``.
        out_file (str): The ``.onnx`` file to write.
        dynamic_dims (Sequence[int]): Input dimensions left dynamic.
            Defaults to none.
        metadata (dict, optional): Written into the model's metadata as
            JSON values. Defaults to None.
        onnxruntime_fusions (bool): Whether to rewrite the graph with
            onnxruntime's own operators (domain ``com.microsoft``;
            ``fuse_for_onnxruntime`` of
            :mod:`mmsepvit.deployment.onnxruntime_fusions` says which): the
            file then runs in onnxruntime only. Defaults to False.
        int8_linear_weights (bool): Whether to store the linear layers'
            weights in int8, activations quantized as they arrive
            (:func:`~mmsepvit.deployment.quantize_linear_layers`;
            onnxruntime only). Defaults to False.
    """
    if 0 in dynamic_dims and example.size(0) == 1:
        # A batch of 1 while tracing would be frozen into the graph.
        example = example.expand(2, *example.shape[1:]).contiguous()
    dynamic_shapes = None
    if dynamic_dims:
        dynamic_shapes = ({dim: Dim.AUTO for dim in dynamic_dims}, )
    with torch.no_grad():
        output_names = None
        if hasattr(module, 'output_names'):
            output_names = module.output_names(module(example))
        program = torch.export.export(
            module, (example, ), dynamic_shapes=dynamic_shapes)
        frozen = [
            dim for dim in dynamic_dims
            if is_concrete_int(_traced_input_shape(program)[dim])
        ]
        if frozen:
            raise ValueError(
                f'{type(module).__name__} does not export with dynamic input '
                f'dimensions {frozen}: its code fixed them to the example\'s '
                f'sizes {[example.size(dim) for dim in frozen]}. Export it at '
                f'the size it will run at instead.')
        onnx_program = torch.onnx.export(
            program,
            input_names=[INPUT_NAME],
            output_names=output_names,
            opset_version=OPSET,
            dynamo=True,
            optimize=False,
            verbose=False)
    if onnxruntime_fusions:
        from .onnxruntime_fusions import fuse_for_onnxruntime
        fuse_for_onnxruntime(onnx_program.model)
    onnx_program.model.metadata_props.update(
        {key: json.dumps(value)
         for key, value in (metadata or {}).items()})
    onnx_program.save(out_file)
    if int8_linear_weights:
        quantize_linear_layers(out_file)


def _traced_input_shape(program) -> Sequence:
    """The input's shape as traced: a symbolic size for each dimension that
    stayed dynamic, a concrete one for each the trace fixed."""
    name = program.graph_signature.user_inputs[0]
    node = next(node for node in program.graph.nodes if node.name == name)
    return node.meta['val'].shape


def flatten_outputs(outputs) -> List[torch.Tensor]:
    """The graph's outputs in the order the ONNX file lists them."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [tensor for group in outputs for tensor in flatten_outputs(group)]


def read_metadata(session) -> Dict[str, object]:
    """The JSON metadata :func:`export_onnx` wrote, from an onnxruntime
    session of the file."""
    return {
        key: json.loads(value)
        for key, value in session.get_modelmeta().custom_metadata_map.items()
    }


def output_groups(names: Sequence[str]) -> Dict[str, List[int]]:
    """Output indices grouped by name without the level suffix:
    ``['cls_score_0', 'cls_score_1', 'bbox_pred_0']`` ->
    ``{'cls_score': [0, 1], 'bbox_pred': [2]}``."""
    groups: Dict[str, List[int]] = {}
    for index, name in enumerate(names):
        stem = name.rsplit('_', 1)[0] if name[-1].isdigit() else name
        groups.setdefault(stem, []).append(index)
    return groups
