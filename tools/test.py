# Copyright (c) mmsepvit contributors. All rights reserved.
"""Evaluate a checkpoint of any mmsepvit config (top-1/top-5, mIoU or
box/mask mAP, as the config's evaluator says).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl]
        [--show] [--show-dir DIR] [--tta] [--non-strict]
        [--amp [--amp-dtype D]] [--compile] [--cfg-options ...]
        [--launcher pytorch]

CONFIG is a config file or a model name of mmsepvit's model index. The
checkpoint must fit the config's model exactly (no missing, unexpected or
reshaped weights) and pass its checksums, or the run stops before
evaluating. A CHECKPOINT ending in ``.onnx`` is a graph written by
``tools/deployment/pytorch2onnx.py`` for this config: it is evaluated in
onnxruntime, between the config's own data preprocessor and
post-processing (classifiers, segmentors and single-stage detectors).
"""
import argparse

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner

from mmsepvit.cli import (OptionError, add_common_args, add_precision_args,
                          apply_precision_args, load_runner_config, run)
from mmsepvit.cli.preflight import check_datasets, check_model_channels
from mmsepvit.deployment import OnnxRuntimeModel
from mmsepvit.deployment.onnx_export import TWO_STAGE_DETECTOR, deploy_graph
from mmsepvit.hosts import host_of, resolve
from mmsepvit.utils import (float32_predictions, load_checkpoint_into,
                            require_file)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions')
    parser.add_argument(
        '--show-dir', help='save the visualised predictions in this dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the --show interval (s)')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='evaluate even if the checkpoint misses, adds or reshapes '
        'weights of the model (they are listed as a warning); by default '
        'such a checkpoint stops the run')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation, from the config\'s tta_model and '
        'tta_pipeline')
    add_precision_args(parser)
    return parser.parse_args()


def enable_visualization(cfg: Config, args) -> None:
    """Switch on the host toolbox's visualisation hook its own way."""
    host = host_of(cfg.get('default_scope'))
    cfg.default_hooks.visualization.update({
        host.show_flag: True,
        'show': args.show,
        'wait_time': args.wait_time
    })
    if args.show_dir:
        cfg.merge_from_dict({host.show_dir_key: args.show_dir})


def enable_tta(cfg: Config, config_path: str) -> None:
    """Wrap the model and the test pipeline for test-time augmentation;
    without ``tta_model`` / ``tta_pipeline`` in the config, a flip as the
    host toolbox's own test tool does."""
    host = host_of(cfg.get('default_scope'))
    for key in ('tta_model', 'tta_pipeline'):
        if key not in cfg and host.default_tta_model is None:
            raise OptionError(f'--tta: {config_path} defines no {key}, and '
                              f'{host.scope} has no default one.')
    cfg.setdefault('tta_model', host.default_tta_model)
    if 'tta_pipeline' not in cfg:
        *transforms, pack = cfg.test_dataloader.dataset.pipeline
        pack = dict(pack)
        if host.tta_meta_keys:
            pack['meta_keys'] = tuple(pack.get('meta_keys', ())) + tuple(
                host.tta_meta_keys)
        cfg.tta_pipeline = transforms + [
            dict(
                type='TestTimeAug',
                transforms=[[
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ], [pack]])
        ]
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)


def check_graph_args(args) -> None:
    """Refuse the options that change a PyTorch model for an exported
    graph, which runs as it was exported."""
    pytorch_only = [
        flag for flag, given in (('--tta', args.tta), ('--amp', args.amp),
                                 ('--compile', args.compile),
                                 ('--non-strict', args.non_strict)) if given
    ]
    if pytorch_only:
        raise OptionError(
            f'{", ".join(pytorch_only)}: for PyTorch checkpoints only; '
            f'{args.checkpoint} is an exported graph, evaluated as exported.')


def exported_model(model, onnx_file: str) -> OnnxRuntimeModel:
    """``onnx_file`` in onnxruntime with ``model``'s pre- and
    post-processing."""
    if deploy_graph(model).kind == TWO_STAGE_DETECTOR:
        raise OptionError(
            f'{onnx_file}: a two-stage detector\'s graph ends at the RPN and '
            f'its RoI stages need the PyTorch checkpoint; evaluate the '
            f'checkpoint instead (tools/deployment/onnx_inference.py runs '
            f'the graph with it on an image).')
    return OnnxRuntimeModel(onnx_file, model)


def build_config(args) -> Config:
    cfg = load_runner_config(args)
    apply_precision_args(cfg, args, training=False)
    # main() loads the checkpoint itself, strictly.
    cfg.load_from = None
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg, args.config)
    return cfg


def main():
    args = parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise OptionError('--out must be a .pkl or .pickle file.')
    graph = args.checkpoint.endswith('.onnx')
    require_file(args.checkpoint, 'ONNX model' if graph else 'checkpoint')
    if graph:
        check_graph_args(args)
    cfg = build_config(args)
    check_datasets(cfg, ['test_dataloader'])
    check_model_channels(cfg)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    # DDP and test-time augmentation wrap the config's model.
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    if graph:
        runner.model = exported_model(model, args.checkpoint)
    else:
        load_checkpoint_into(
            model,
            args.checkpoint,
            f' It is not a checkpoint of {args.config}\'s model, and '
            'evaluating it would give meaningless metrics. Check that '
            'checkpoint and config belong together, or pass --non-strict '
            'to evaluate anyway.',
            strict=not args.non_strict)
    if args.out is not None:
        # What the host toolbox's own test.py dumps (mmdet: DumpDetResults).
        dump = resolve(host_of(cfg.default_scope).results_dump)
        runner.test_evaluator.metrics.append(dump(out_file_path=args.out))
    if (cfg.get('test_cfg') or {}).get('fp16'):
        # The evaluators take autocast's low-precision outputs to numpy.
        runner.model.test_step = float32_predictions(runner.model.test_step)
    if cfg.get('compile'):
        # mmengine's Runner compiles train_step only.
        runner.model.test_step = torch.compile(runner.model.test_step,
                                               **cfg.compile)
    metrics = runner.test()
    if is_main_process():
        print('Test metrics: ' + ', '.join(f'{k}: {v:.4f}' if isinstance(
            v, float) else f'{k}: {v}' for k, v in metrics.items()))


if __name__ == '__main__':
    run(main)
