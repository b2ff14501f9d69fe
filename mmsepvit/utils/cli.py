# Copyright (c) mmsepvit contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` share: the config, work-dir
and launcher options and how they enter the config, and how a multi-process
run is set up on the machine at hand."""
import argparse
import atexit
import difflib
import inspect
import os
import os.path as osp
from datetime import timedelta
from typing import Callable

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# Top-level keys the Runner and the tools read even if a config leaves them
# out.
RUNTIME_KEYS = frozenset(inspect.signature(
    Runner.__init__).parameters) - {'self', 'cfg'} | {
        'model_wrapper_cfg', 'tta_model', 'tta_pipeline', 'custom_imports'
    }


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``."""
    parser.add_argument(
        '--work-dir',
        help='where logs, checkpoints and metrics go (default: '
        './work_dirs/CONFIG_NAME)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. '
        'train_dataloader.batch_size=4')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


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


AMP_DTYPES = ('float16', 'bfloat16')


def add_precision_args(parser: argparse.ArgumentParser) -> None:
    """``--amp``, ``--amp-dtype``, ``--compile``."""
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
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the model (mmengine\'s compile config; dynamic '
        'input sizes, so dense inputs of any size reuse the compiled code)')


def apply_precision_args(cfg: Config, args: argparse.Namespace,
                         training: bool) -> None:
    """Put ``--amp`` / ``--amp-dtype`` / ``--compile`` into the config.

    Training runs mmengine's ``AmpOptimWrapper`` on a GPU (fp16 needs its
    loss scaling) and mmsepvit's ``AutocastOptimWrapper`` (bfloat16, no
    scaling) on CPU; evaluation sets the loops' ``fp16`` switch, which
    autocasts to the chosen dtype.
    """
    on_gpu = torch.cuda.is_available()
    if args.amp_dtype and not args.amp:
        raise SystemExit('Error: --amp-dtype takes effect with --amp only.')
    if args.amp:
        dtype = args.amp_dtype or ('float16' if on_gpu else 'bfloat16')
        if dtype == 'float16' and not on_gpu:
            raise SystemExit(
                'Error: --amp-dtype float16 needs a GPU; CPU autocast runs '
                'bfloat16 (the default there).')
        if training:
            wrapper = cfg.optim_wrapper
            if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper',
                                                           'AmpOptimWrapper'):
                raise SystemExit(
                    f'Error: --amp replaces optim_wrapper.type OptimWrapper; '
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


def load_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the common options applied."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    if cfg.launcher != 'none':
        prepare_distributed(cfg)
    return cfg


def check_option_keys(cfg: Config, options: dict) -> None:
    """Stop on a ``--cfg-options`` key whose first part names nothing the
    config or the Runner knows: it would be silently ignored."""
    known = set(cfg.keys()) | RUNTIME_KEYS
    for key in options:
        top = key.split('.')[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=3)
        hint = f' Did you mean {" or ".join(close)}?' if close else ''
        raise SystemExit(
            f'Error: --cfg-options {key}: the config has no {top!r} and the '
            f'Runner does not read one, so it would be ignored.{hint}')


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
        raise SystemExit(
            f'Error: --launcher {cfg.launcher} needs GPUs; on a machine '
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

