# Copyright (c) mmsepvit contributors. All rights reserved.
"""How the tools load a config (a file or a model name, with checked
``--cfg-options``) and put the precision and launcher options into it."""
import argparse
import atexit
import difflib
import inspect
import os
import os.path as osp
from datetime import timedelta
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmsepvit.utils import float32_mmcv_ops_under_cpu_autocast
from .options import OptionError

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
