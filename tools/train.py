# Copyright (c) mmsepvit contributors. All rights reserved.
"""Train any mmsepvit config: classification, segmentation or detection.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp [--amp-dtype D]] [--compile] [--auto-scale-lr]
        [--cfg-options KEY=VALUE ...] [--launcher pytorch]

CONFIG is a config file or a model name of mmsepvit's model index
(``mmsepvit.apis.list_models()``). The config's ``default_scope``
(mmpretrain, mmseg or mmdet) picks the task.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.runner import Runner

from mmsepvit.cli import (OptionError, add_common_args, add_precision_args,
                          apply_precision_args, load_runner_config, run)
from mmsepvit.cli.preflight import (check_datasets, check_model_channels,
                                    check_pretrained,
                                    find_resumable_checkpoint)
from mmsepvit.utils import MissingInputError


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a value from the '
        'newest intact checkpoint in the work dir')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    add_precision_args(parser)
    return parser.parse_args()


# Every run refuses a checkpoint of another model to resume or start from,
# stops at its first non-finite loss and never saves non-finite weights; a
# learning rate changed for --resume takes effect.
DEFAULT_HOOKS = ('mmsepvit.CheckpointFitHook', 'mmsepvit.NonFiniteLossHook',
                 'mmsepvit.ResumeLearningRateHook')


def build_config(args) -> Config:
    cfg = load_runner_config(args)
    apply_precision_args(cfg, args, training=True)
    hooks = list(cfg.get('custom_hooks') or [])
    present = [hook.get('type') for hook in hooks]
    cfg.custom_hooks = hooks + [
        dict(type=hook) for hook in DEFAULT_HOOKS if hook not in present
    ]
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise OptionError('--auto-scale-lr needs auto_scale_lr='
                              'dict(base_batch_size=...) in the config.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        checkpoint, passed_over = find_resumable_checkpoint(cfg.work_dir)
        for message in passed_over:
            print(f'Warning: {message}', file=sys.stderr)
        if checkpoint is None:
            print(
                f'Warning: --resume: no checkpoint to resume in '
                f'{cfg.work_dir}; training from scratch.',
                file=sys.stderr)
        else:
            print(f'Resuming from {checkpoint}', file=sys.stderr)
        cfg.resume = checkpoint is not None
        cfg.load_from = checkpoint
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise MissingInputError(
                f'--resume {args.resume}: no such checkpoint file.')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main():
    args = parse_args()
    cfg = build_config(args)
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') is not None:
        loaders.append('val_dataloader')
    check_datasets(cfg, loaders)
    check_pretrained(cfg)
    check_model_channels(cfg)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    run(main)
