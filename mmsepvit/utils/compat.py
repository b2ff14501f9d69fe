# Copyright (c) mmsepvit contributors. All rights reserved.
"""Where mmsepvit reaches past the public APIs of the pinned releases.

Each entry names the gap it covers; drop it once a pinned release covers it.

- bfloat16 shims: the pinned OpenMMLab releases were written for float16 on
  GPUs; :func:`float32_mmcv_ops_under_cpu_autocast` and
  :func:`float32_predictions` let them run under CPU autocast (used only
  where CPU autocast runs, never at import).
- :func:`workers_started`: torch has no public way to ask whether a
  ``DataLoader`` made its persistent workers (``DataLoader._iterator``).
- :func:`head_predictions`: mmpretrain's heads post-process scores only
  inside ``predict``, which runs the head's layers too
  (``ClsHead._get_predictions``).
- :func:`numpy_pickle_globals`: numpy pickles arrays through its private
  ``multiarray._reconstruct``, which a safe checkpoint loader must allow.
- :data:`SCHEDULER_RATE_KEYS`: mmengine saves a scheduler's current values
  under its attribute name ``_last_value``.

Overrides of private methods live with their classes, as no public hook
covers them: :class:`~mmsepvit.engine.ResumableCheckpointHook` extends
mmengine's ``CheckpointHook._save_checkpoint_with_step`` (the one place a
checkpoint's save and its deletions meet) and
:class:`~mmsepvit.models.distillers.FrozenTeacherDistiller` extends
``nn.Module._apply`` (the one place every device and dtype move passes)
to move a teacher kept out of the module tree. The SepViT modules revise
the checkpoints they read through the public
``register_load_state_dict_pre_hook``.
"""
from typing import Callable, List, Tuple, Union

import numpy as np
import numpy.core.multiarray as multiarray
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


def workers_started(loader) -> bool:
    """Whether ``loader`` (a ``torch.utils.data.DataLoader`` with
    persistent workers) has started them."""
    return loader._iterator is not None


def head_predictions(head, scores: torch.Tensor, data_samples: list) -> list:
    """``data_samples`` with the predictions ``head`` (an mmpretrain
    classification head) makes of its output ``scores``."""
    return head._get_predictions(scores, data_samples)


# The learning-rate lists in a saved mmengine parameter scheduler's state.
SCHEDULER_RATE_KEYS = ('base_values', '_last_value')


def numpy_pickle_globals(
) -> List[Union[Callable, Tuple[Callable, str]]]:
    """What numpy arrays, scalars and dtypes pickle as, in the form of
    :func:`torch.serialization.safe_globals`."""
    numeric = [
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64,
        np.complex64, np.complex128
    ]
    # numpy 1 pickles arrays and scalars as numpy.core.multiarray's, numpy 2
    # as numpy._core.multiarray's: a checkpoint saved under either may be
    # loaded under the other.
    return [
        *((getattr(multiarray, name), f'{module}.{name}')
          for module in ('numpy.core.multiarray', 'numpy._core.multiarray')
          for name in ('_reconstruct', 'scalar')),
        np.ndarray,
        np.dtype,
        *{type(np.dtype(t))
          for t in numeric},
    ]
