# Copyright (c) mmsepvit contributors. All rights reserved.
"""How the tools take options and end on bad input: :func:`run`, the
argparse types and the option groups the tools share."""
import argparse
import sys
from typing import Callable

import torch
from mmengine.config import DictAction

from mmsepvit.utils import UserError


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
