# Copyright (c) mmsepvit contributors. All rights reserved.
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from torch import nn

from mmsepvit.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed-precision training in bfloat16, on CPU as on GPU.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU (it is built
    around fp16's ``GradScaler``). bfloat16 keeps float32's exponent range,
    so gradients need no loss scaling: this wrapper only runs the forward
    under ``torch.autocast`` (matrix products in bfloat16, norms, softmax
    and losses in float32, as autocast's op lists say); weights, gradients
    and the optimizer stay float32.

    Args:
        dtype (str): ``'bfloat16'``, the one dtype that needs no scaling.
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; None: where
            mmengine runs the model.
        **kwargs: :class:`~mmengine.optim.OptimWrapper`'s arguments.
    """

    def __init__(self,
                 dtype: str = 'bfloat16',
                 device_type: Optional[str] = None,
                 **kwargs):
        if dtype != 'bfloat16':
            raise ValueError(
                f'AutocastOptimWrapper trains in bfloat16 only, got dtype='
                f'{dtype!r}; float16 needs loss scaling: use mmengine\'s '
                f'AmpOptimWrapper on a GPU.')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
