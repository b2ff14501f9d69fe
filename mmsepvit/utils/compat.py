# Copyright (c) mmsepvit contributors. All rights reserved.
"""Shims that let the pinned OpenMMLab releases run under bfloat16 autocast
on CPU (they were written for float16 on GPUs).

Each shim names the release gap it covers; drop it once the pinned release
carries the fix. Both are used only where CPU autocast runs, never at
import.
"""
from typing import Callable

import torch
from mmengine.structures import BaseDataElement


LOW_PRECISION = (torch.bfloat16, torch.float16)


def _low_precision(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dtype in LOW_PRECISION


def _float32(value):
    return value.float() if _low_precision(value) else value


def _forward_in_float32(forward):
    """``forward`` of an autograd Function, run on float32 copies of its
    low-precision inputs with CPU autocast off; float outputs go back to
    the first such input's dtype (what the caller allocated around it)."""

    def wrapped(ctx, *args, **kwargs):
        dtypes = [arg.dtype for arg in args if _low_precision(arg)]
        if not dtypes or not torch.is_autocast_enabled('cpu'):
            return forward(ctx, *args, **kwargs)
        with torch.autocast('cpu', enabled=False):
            output = forward(ctx, *map(_float32, args), **kwargs)
        if isinstance(output, torch.Tensor) and output.is_floating_point():
            output = output.to(dtypes[0])
        return output

    wrapped.mmsepvit_float32 = True
    return wrapped


def _backward_in_float32(backward):
    """``backward`` on float32 gradients (autograd casts the returned ones
    to the inputs' dtypes)."""

    def wrapped(ctx, *grad_outputs):
        return backward(ctx, *map(_float32, grad_outputs))

    return wrapped


def float32_mmcv_ops_under_cpu_autocast() -> None:
    """Let mmcv's NMS and RoIAlign run under CPU autocast (``--amp``).

    mmcv 2.1.0's CPU kernels of both take float32 only, and under bfloat16
    autocast the detectors hand them bfloat16 boxes, scores and features
    ("expected scalar type Float but found BFloat16": training, evaluation
    and inference of every detection config stop there). Both are autograd
    Functions: while CPU autocast is on, they now compute on float32 copies
    of low-precision inputs (gradients likewise) and return the inputs'
    dtype; elsewhere (no autocast, GPU autocast, float32 inputs) nothing
    changes. Idempotent; nothing to do where mmcv has no compiled ops.
    """
    try:
        from mmcv.ops.nms import NMSop
        from mmcv.ops.roi_align import RoIAlignFunction
    except ImportError:
        return
    for function in (NMSop, RoIAlignFunction):
        if getattr(function.forward, 'mmsepvit_float32', False):
            continue
        function.forward = staticmethod(
            _forward_in_float32(function.forward))
        if 'backward' in vars(function):
            function.backward = staticmethod(
                _backward_in_float32(function.backward))


def _float32_fields(element: BaseDataElement) -> None:
    for key, value in element.items():
        if isinstance(value, BaseDataElement):
            _float32_fields(value)
        elif _low_precision(value):
            setattr(element, key, value.float())


def float32_predictions(test_step: Callable) -> Callable:
    """``test_step`` whose data samples carry float32 where the model, under
    autocast, left bfloat16 or float16 (boxes, scores, logits; nested
    fields included); labels and masks keep their dtypes."""

    def wrapped(*args, **kwargs):
        samples = test_step(*args, **kwargs)
        for sample in samples:
            _float32_fields(sample)
        return samples

    return wrapped
