# Copyright (c) mmsepvit contributors. All rights reserved.
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsepvit.models.backbones import SepViT
from mmsepvit.registry import HOOKS
from mmsepvit.utils.errors import UserError


def _rms(tensor: torch.Tensor) -> float:
    return tensor.detach().float().pow(2).mean().sqrt().item()


@HOOKS.register_module()
class StageScaleHook(Hook):
    """Logs, for every stage of a SepViT backbone and every training
    iteration, the scale of what the stage receives, of the gradient it
    passes back and of its weight update: how the stage-norm layout
    (``stage_norms``) changes training from scratch (issue #22).

    For stage ``i`` (patch embedding, blocks, position encoding and its
    stage norm), as ``train/stage{i}_...`` scalars of the
    message hub, which the logger prints averaged over its window and the
    visualizer backends record:

    - ``input_rms``: RMS of the map the patch embedding receives, the image
      for stage 0; for later stages the previous stage's normalised map with
      ``'main_path'``, its raw residual stream with ``'outputs'``.
    - ``output_rms``: RMS of the stage's tokens before its stage norm (the
      residual stream).
    - ``grad_rms``: RMS of the loss gradient at those tokens.
    - ``update``: ``||W_after - W_before|| / ||W_before||`` over the stage's
      trainable parameters for the iteration's optimizer step (learning rate
      times the step's size relative to the weights).

    Add it with ``custom_hooks = [dict(type='mmsepvit.StageScaleHook')]``.
    It costs a copy of the backbone's weights per iteration. The text log
    prints four decimals, so gradients of a loss averaged over many
    elements read ``0.0000`` there; ``vis_data/scalars.json`` in the work
    dir (and TensorBoard, if configured) keeps full precision.
    """
    priority = 'LOW'

    def __init__(self):
        self._backbone: Optional[SepViT] = None
        self._handles: List = []
        self._recording = False
        self._scalars: Dict[str, float] = {}
        self._weights_before: List[List[torch.Tensor]] = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', model)
        if not isinstance(backbone, SepViT):
            raise UserError(
                f'StageScaleHook measures the stages of a SepViT backbone; '
                f'this model\'s backbone is a {type(backbone).__name__}. '
                f'Remove the hook from custom_hooks or use a SepViT '
                f'backbone.')
        self._backbone = backbone
        for i, stage in enumerate(backbone.stages):
            self._handles += [
                stage.register_forward_pre_hook(self._input_recorder(i)),
                stage.register_forward_hook(self._output_recorder(i))
            ]

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _stage_parameters(self, i: int) -> List[torch.nn.Parameter]:
        modules = [self._backbone.stages[i], self._backbone.stage_norm(i)]
        return [
            p for module in modules for p in module.parameters()
            if p.requires_grad
        ]

    def _input_recorder(self, i: int):

        def record(module, args):
            if self._recording:
                self._scalars[f'stage{i}_input_rms'] = _rms(args[0])

        return record

    def _output_recorder(self, i: int):

        def record_grad(grad):
            self._scalars[f'stage{i}_grad_rms'] = _rms(grad)

        def record(module, args, output):
            if self._recording:
                tokens = output[0]
                self._scalars[f'stage{i}_output_rms'] = _rms(tokens)
                if tokens.requires_grad:
                    tokens.register_hook(record_grad)

        return record

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._recording = True
        self._scalars = {}
        self._weights_before = [[
            p.detach().clone() for p in self._stage_parameters(i)
        ] for i in range(len(self._backbone.stages))]

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._recording = False
        with torch.no_grad():
            for i, before in enumerate(self._weights_before):
                if not before:  # frozen
                    continue
                after = self._stage_parameters(i)
                change = sum((a.float() - b.float()).pow(2).sum()
                             for a, b in zip(after, before))
                size = sum(b.float().pow(2).sum() for b in before)
                self._scalars[f'stage{i}_update'] = (
                    change.sqrt() / size.sqrt()).item()
        self._weights_before = []
        for name, value in self._scalars.items():
            runner.message_hub.update_scalar(f'train/{name}', value)
