# Copyright (c) mmsepvit contributors. All rights reserved.
"""What mmsepvit's command-line tools share; only the tools import it.

- :func:`run` (:mod:`.options`): the one way a tool ends on bad input. A
  :class:`~mmsepvit.utils.UserError` stops it with ``Error: <message>`` on
  stderr and exit code 1, never a traceback; argparse has already refused
  malformed options with exit code 2.
- Options (:mod:`.options`): the argparse types :func:`at_least` and
  :func:`available_device`, the option groups :func:`add_common_args`,
  :func:`add_amp_args` and :func:`add_precision_args`.
- Configs (:mod:`.configs`): :func:`load_config` takes a config file or a
  model name of the model index and applies ``--cfg-options`` whose keys
  it has checked;
  :func:`amp_dtype` is the dtype ``--amp`` asks for;
  :func:`apply_precision_args` and :func:`prepare_distributed` put the
  precision and launcher options into it.
- :mod:`mmsepvit.cli.preflight`: what is checked before a Runner is built.
"""
from .configs import (RUNTIME_KEYS, amp_dtype, apply_precision_args,
                      check_option_keys, load_config, load_runner_config,
                      prepare_distributed)
from .options import (AMP_DTYPES, OptionError, add_amp_args,
                      add_cfg_options_arg, add_common_args, add_config_arg,
                      add_precision_args, at_least, available_device, run)

__all__ = [
    'AMP_DTYPES', 'OptionError', 'RUNTIME_KEYS', 'add_amp_args',
    'add_cfg_options_arg', 'add_common_args', 'add_config_arg',
    'add_precision_args', 'amp_dtype', 'apply_precision_args', 'at_least',
    'available_device', 'check_option_keys', 'load_config',
    'load_runner_config', 'prepare_distributed', 'run'
]
