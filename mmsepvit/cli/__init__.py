# Copyright (c) mmsepvit contributors. All rights reserved.
"""What mmsepvit's command-line tools share; only the tools import it.

- :func:`run`: the one way a tool ends on bad input. A
  :class:`~mmsepvit.utils.UserError` stops it with ``Error: <message>`` on
  stderr and exit code 1, never a traceback; argparse has already refused
  malformed options with exit code 2.
- Options: the argparse types :func:`at_least` and :func:`available_device`,
  the option groups :func:`add_common_args`, :func:`add_amp_args` and
  :func:`add_precision_args`, and
  :func:`amp_dtype`, the dtype ``--amp`` asks for.
- Configs: :func:`load_config` takes a config file or a model name of the
  model index and applies ``--cfg-options`` whose keys it has checked;
  :func:`apply_precision_args` and :func:`prepare_distributed` put the
  precision and launcher options into it.
- :mod:`mmsepvit.cli.preflight`: what is checked before a Runner is built.
"""
import argparse
import atexit
import difflib
import inspect
import os
import os.path as osp
import sys
from datetime import timedelta
from typing import Callable, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmsepvit.utils import UserError, float32_mmcv_ops_under_cpu_autocast


class OptionError(UserError, ValueError):
    """Options a tool cannot use: together, with this config or on this
    machine."""


def run(main: Callable[[], object]) -> None:
    """Run a tool's ``main``; a :class:`UserError` ends it with its message
    alone and exit code 1."""
    try:
        main()
    except UserError as error:
        sys.exit(f'Error: {error}')


# Options ---------------------------------------------------------------------


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer no smaller than ``minimum``; other
    values are refused with what was given and what is valid."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f'expected an integer >= {minimum}, got {text!r}')
        return value

    return parse


def available_device(text: str) -> str:
    """An argparse ``type``: ``cpu`` or ``cuda[:N]`` present here."""
    try:
        device = torch.device(text)
    except RuntimeError:
        device = None
    if device is None or device.type not in ('cpu', 'cuda'):
        raise argparse.ArgumentTypeError(
            f'expected cpu or cuda[:N], got {text!r}')
    if device.type == 'cuda' and (device.index
                                  or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f'{text!r}: this machine has {torch.cuda.device_count()} CUDA '
            f'device(s); use cpu or one of them')
    return text


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    """The positional ``config``: a config file or a model name."""
    parser.add_argument(
        'config',
        help='config file or model name (mmsepvit.apis.list_models())')


def add_cfg_options_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. '
        'train_dataloader.batch_size=4; keys the config does not have are '
        'refused')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``config``, ``--work-dir``, ``--cfg-options``, ``--launcher``,
    ``--local-rank``: what ``train.py`` and ``test.py`` share."""
    add_config_arg(parser)
    parser.add_argument(
        '--work-dir',
        help='where logs, checkpoints and metrics go (default: '
        './work_dirs/CONFIG_NAME)')
    add_cfg_options_arg(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


AMP_DTYPES = ('float16', 'bfloat16')


def add_amp_args(parser: argparse.ArgumentParser) -> None:
    """``--amp``, ``--amp-dtype``."""
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: bfloat16 on CPU, float16 (or '
        '--amp-dtype) on GPU')
    parser.add_argument(
        '--amp-dtype',
        choices=AMP_DTYPES,
        help='with --amp: the autocast dtype (default: float16 on GPU, '
        'bfloat16 on CPU, the only one CPU autocast runs)')


def add_precision_args(parser: argparse.ArgumentParser) -> None:
    """``--amp``, ``--amp-dtype``, ``--compile``."""
    add_amp_args(parser)
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the model (mmengine\'s compile config; dynamic '
        'input sizes, so dense inputs of any size reuse the compiled code)')


# Configs ---------------------------------------------------------------------

# Top-level keys the Runner and the tools read even if a config leaves them
# out.
RUNTIME_KEYS = frozenset(inspect.signature(
    Runner.__init__).parameters) - {'self', 'cfg'} | {
        'model_wrapper_cfg', 'tta_model', 'tta_pipeline', 'custom_imports'
    }


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """The config of a file or a model name, with ``cfg_options`` merged
    in after their keys were checked (:func:`check_option_keys`)."""
    from mmsepvit.apis import get_config_path  # only tools with configs
    cfg = Config.fromfile(get_config_path(config))
    if cfg_options:
        check_option_keys(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_runner_config(args: argparse.Namespace) -> Config:
    """:func:`load_config` with the work-dir and launcher options of
    :func:`add_common_args` applied."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(cfg.filename))[0])
    if cfg.launcher != 'none':
        prepare_distributed(cfg)
    return cfg


def check_option_keys(cfg: Config, options: dict) -> None:
    """Refuse a ``--cfg-options`` key whose first part names nothing the
    config or the Runner knows: it would be silently ignored."""
    known = set(cfg.keys()) | RUNTIME_KEYS
    for key in options:
        top = key.split('.')[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=3)
        hint = f' Did you mean {" or ".join(close)}?' if close else ''
        raise OptionError(
            f'--cfg-options {key}: the config has no {top!r} and the '
            f'Runner does not read one, so it would be ignored.{hint}')


def amp_dtype(args: argparse.Namespace, on_gpu: bool) -> Optional[str]:
    """The autocast dtype ``--amp`` / ``--amp-dtype`` ask for on a GPU or
    CPU; None without ``--amp``."""
    if args.amp_dtype and not args.amp:
        raise OptionError('--amp-dtype takes effect with --amp only.')
    if not args.amp:
        return None
    dtype = args.amp_dtype or ('float16' if on_gpu else 'bfloat16')
    if dtype == 'float16' and not on_gpu:
        raise OptionError('--amp-dtype float16 needs a GPU; CPU autocast '
                          'runs bfloat16 (the default there).')
    return dtype


def apply_precision_args(cfg: Config, args: argparse.Namespace,
                         training: bool) -> None:
    """Put ``--amp`` / ``--amp-dtype`` / ``--compile`` into the config.

    Training runs mmengine's ``AmpOptimWrapper`` on a GPU (fp16 needs its
    loss scaling) and mmsepvit's ``AutocastOptimWrapper`` (bfloat16, no
    scaling) on CPU; evaluation sets the loops' ``fp16`` switch, which
    autocasts to the chosen dtype.
    """
    on_gpu = torch.cuda.is_available()
    dtype = amp_dtype(args, on_gpu)
    if dtype is not None:
        if not on_gpu:
            float32_mmcv_ops_under_cpu_autocast()
        if training:
            wrapper = cfg.optim_wrapper
            if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper',
                                                           'AmpOptimWrapper'):
                raise OptionError(
                    f'--amp replaces optim_wrapper.type OptimWrapper; '
                    f'this config uses {wrapper.type!r}.')
            if on_gpu:
                wrapper.update(type='AmpOptimWrapper', dtype=dtype)
                wrapper.setdefault('loss_scale', 'dynamic')
            else:
                wrapper.update(
                    type='mmsepvit.AutocastOptimWrapper', dtype=dtype)
        else:
            for loop in ('val_cfg', 'test_cfg'):
                if cfg.get(loop) is not None:
                    cfg[loop].fp16 = True
            if on_gpu:
                # The loops' autocast takes the GPU's default autocast dtype.
                torch.set_autocast_dtype('cuda', getattr(torch, dtype))
    if args.compile:
        cfg.compile = dict(dynamic=True)


def _sync_bn_to_bn(node) -> None:
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _sync_bn_to_bn(value)


def prepare_distributed(cfg: Config) -> None:
    """Set a multi-process run up for this machine.

    With GPUs it is mmengine's way: one GPU per process, NCCL and SyncBN.
    Without, the processes talk over gloo, DDP wraps the CPU model without
    device ids, and SyncBN, which needs GPUs, becomes BN (each process keeps
    its own batch statistics). mmengine 0.10.7's ``init_dist`` calls
    ``torch.cuda.set_device`` whatever the backend, so the process group is
    created here; the Runner finds it and skips ``init_dist``.
    """
    if torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise OptionError(
            f'--launcher {cfg.launcher} needs GPUs; on a machine '
            f'without, start the processes with torchrun and --launcher '
            f'pytorch (tools/dist_train.sh, tools/dist_test.sh).')
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    cfg.model_wrapper_cfg = dict(
        cfg.get('model_wrapper_cfg') or {}, device_ids=None)
    cfg.model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    _sync_bn_to_bn(cfg.model)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(
            'gloo', timeout=timedelta(seconds=dist_cfg.get('timeout', 1800)))
        # Left to interpreter shutdown, the group's threads were once seen
        # to abort rank 0 after its results were printed ("terminate called
        # without an active exception"); PyTorch asks for this call.
        atexit.register(torch.distributed.destroy_process_group)
