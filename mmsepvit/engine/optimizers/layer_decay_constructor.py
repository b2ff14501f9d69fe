# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import List, Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmsepvit.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise learning-rate decay for any model whose ``backbone`` has
    ``get_layer_depth`` (SepViT does), in mmpretrain, mmseg and mmdet alike.

    mmseg's and mmdet's own decay constructors accept only ConvNeXt / BEiT /
    MAE by class name; this one asks the backbone for each parameter's depth.
    A parameter at depth ``d`` of ``L`` gets the learning rate
    ``lr * lr_mult * layer_decay_rate ** (L - 1 - d)``: the stem decays most,
    the last block least, necks and heads (depth ``L - 1``) not at all.

    ``paramwise_cfg`` takes ``layer_decay_rate`` (float in (0, 1], default 1)
    and everything :class:`~mmengine.optim.DefaultOptimWrapperConstructor`
    takes (``custom_keys`` with ``lr_mult`` / ``decay_mult``,
    ``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``, ...), which
    set the weight decays and multiply into the decayed rates.

    Example::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.9, norm_decay_mult=0.))
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        rate = paramwise_cfg.setdefault('layer_decay_rate', 1.0)
        if not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(f'paramwise_cfg.layer_decay_rate must be a '
                             f'number in (0, 1], got {rate!r}.')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix:
            return  # the top-level call decays every group at once
        model = module.module if is_model_wrapper(module) else module
        backbone = getattr(model, 'backbone', None)
        if not hasattr(backbone, 'get_layer_depth'):
            raise TypeError(
                f'LayerDecayOptimWrapperConstructor needs a model whose '
                f'backbone has get_layer_depth(); {type(model).__name__} '
                f'has backbone {type(backbone).__name__}.')
        names = {id(p): name for name, p in model.named_parameters()}
        rate = self.paramwise_cfg['layer_decay_rate']
        for group in params:
            (param, ) = group['params']
            depth, num_layers = backbone.get_layer_depth(
                names[id(param)], prefix='backbone.')
            group['lr'] = group.get('lr', self.base_lr) * rate**(
                num_layers - 1 - depth)
