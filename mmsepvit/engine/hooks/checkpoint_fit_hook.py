# Copyright (c) mmsepvit contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsepvit.registry import HOOKS
from mmsepvit.utils import check_state_dict_fits, checkpoint_state_dict


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Refuses a checkpoint to resume or start from (``--resume``,
    ``load_from``, a config's ``resume=True``) that does not have exactly
    the model's weights and shapes, before any step, naming the first
    misfit (:class:`~mmsepvit.utils.CheckpointMismatchError`): mmengine
    loads both non-strictly, so another model's weights would only print
    warnings. It checks the checkpoint the Runner loaded, before the Runner
    copies it into the model.

    ``tools/train.py`` adds this hook to every config.
    """
    priority = 'HIGHEST'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        path = runner.cfg.get('load_from')
        check_state_dict_fits(
            model,
            checkpoint_state_dict(checkpoint),
            f'Checkpoint {path}' if path else 'The checkpoint to resume',
            hint=' Resuming and load_from need a checkpoint of this '
            "config's model; to start from another model's backbone, set "
            "the backbone's init_cfg=dict(type='Pretrained', "
            "checkpoint=..., prefix='backbone.').")
