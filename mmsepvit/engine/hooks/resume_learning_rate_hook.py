# Copyright (c) mmsepvit contributors. All rights reserved.
from mmengine.config import Config
from mmengine.hooks import Hook

from mmsepvit.registry import HOOKS
from mmsepvit.utils.compat import SCHEDULER_RATE_KEYS


@HOOKS.register_module()
class ResumeLearningRateHook(Hook):
    """Makes a learning rate changed for ``--resume`` take effect.

    mmengine resumes the optimizer's and the schedulers' states as they
    were saved, so ``--resume --cfg-options optim_wrapper.optimizer.lr=X``
    would train on at the old rate: after a run diverged, at the rate that
    made it diverge. When the config's ``optim_wrapper.optimizer.lr`` differs
    from the one the checkpoint was trained with (its saved config), every
    rate of the resumed state is scaled by their ratio: each parameter
    group's current and initial rate and the learning-rate schedulers' base
    rates, current rates and floors, so the whole schedule keeps its shape
    at the new scale.

    ``tools/train.py`` adds this hook to every config.
    """
    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved_config = checkpoint.get('meta', {}).get('cfg')
        if not (runner.cfg.get('resume') and saved_config
                and 'optimizer' in checkpoint):
            return
        rate = runner.cfg.get('optim_wrapper', {}).get('optimizer',
                                                       {}).get('lr')
        try:
            saved = Config.fromstring(saved_config, '.py')
        except Exception as error:  # a config this mmengine cannot read
            runner.logger.warning(
                f'Cannot read the config saved in the checkpoint ({error}); '
                f'resuming at its learning rates.')
            return
        saved_rate = saved.get('optim_wrapper', {}).get('optimizer',
                                                        {}).get('lr')
        if not rate or not saved_rate or rate == saved_rate:
            return
        scale = rate / saved_rate
        for group in checkpoint['optimizer'].get('param_groups', ()):
            for key in ('lr', 'initial_lr'):
                if key in group:
                    group[key] *= scale
        schedulers = checkpoint.get('param_schedulers', [])
        if isinstance(schedulers, dict):  # one list per optimizer
            schedulers = [s for states in schedulers.values() for s in states]
        for state in schedulers:
            if state.get('param_name') != 'lr':
                continue
            for key in SCHEDULER_RATE_KEYS:
                if key in state:
                    state[key] = [value * scale for value in state[key]]
            if state.get('eta_min') is not None:
                state['eta_min'] *= scale
        runner.logger.warning(
            f'Resuming at learning rate {rate:g} instead of the checkpoint\'s '
            f'{saved_rate:g}: every rate of the optimizer and the schedule '
            f'is scaled by {scale:g}.')
