# Copyright (c) mmsepvit contributors. All rights reserved.
"""Export the model of an mmsepvit config to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE.onnx
        [--shape H W] [--dynamic] [--cfg-options ...]

CONFIG is a config file or a model name of mmsepvit's model index.

The graph takes the normalised NCHW batch that the config's data
preprocessor makes and returns class logits (classification), per-pixel
class logits at the input size (segmentation), or the raw head outputs that
mmdet's post-processing consumes (detection; for Mask R-CNN the FPN maps and
the RPN outputs, its RoI stages stay in PyTorch).
``tools/deployment/onnx_inference.py`` runs it on an image. Without a
checkpoint the weights are random (enough for timing). After writing the
file the tool runs it in onnxruntime and prints its largest difference to
PyTorch.
"""
import argparse
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DATASETS

from mmsepvit.apis import build_model, get_config_path
from mmsepvit.deployment import (deploy_graph, export_onnx,
                                 inference_session)
from mmsepvit.deployment.onnx_export import INPUT_NAME, flatten_outputs
from mmsepvit.utils import UserError, load_checkpoint_into
from mmsepvit.utils.cli import at_least, check_option_keys
from mmsepvit.utils.preflight import ConfigMismatchError, check_model_channels

DENSE_DEFAULT_SHAPE = (512, 512)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or model name')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (default: random weights)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape',
        type=at_least(1),
        nargs=2,
        metavar=('H', 'W'),
        help='input size of the export (default: the backbone\'s img_size '
        'for classifiers, 512 512 otherwise)')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='batch, height and width dynamic (height and width stay fixed '
        'for the ImageNet models, whose window tokens are learned per '
        'window position)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config')
    return parser.parse_args()


def dataset_meta(cfg: Config, checkpoint: dict) -> dict:
    """Class names (and palette) for the runtime's visualisation: the
    checkpoint's, else the config's test dataset's."""
    meta = (checkpoint or {}).get('meta', {}).get('dataset_meta')
    if meta is None:
        dataset = cfg.test_dataloader.dataset
        with DATASETS.switch_scope_and_registry(
                cfg.default_scope) as registry:
            meta = dict(registry.get(dataset.type).METAINFO)
        meta.update(dataset.get('metainfo') or {})
    return {key: meta[key] for key in ('classes', 'palette') if key in meta}


def main():
    args = parse_args()
    if not args.out.endswith('.onnx'):
        sys.exit('Error: --out must end with .onnx.')
    try:
        cfg = Config.fromfile(get_config_path(args.config))
    except ValueError as error:
        sys.exit(f'Error: {error}')
    if args.cfg_options:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    try:
        check_model_channels(cfg)
    except ConfigMismatchError as error:
        sys.exit(f'Error: {error}')
    model = build_model(cfg).eval()
    checkpoint = None
    if args.checkpoint is not None:
        try:
            checkpoint = load_checkpoint_into(model, args.checkpoint)
        except UserError as error:
            sys.exit(f'Error: {error}')
    else:
        print('No checkpoint: exporting random weights.')
    backbone = model.backbone
    shape = tuple(args.shape or (backbone.img_size if cfg.default_scope
                                 == 'mmpretrain' else DENSE_DEFAULT_SHAPE))

    start = time.perf_counter()
    try:
        kind = export_onnx(
            model,
            args.out,
            shape,
            dynamic=args.dynamic,
            metadata=dict(dataset_meta=dataset_meta(cfg, checkpoint))).kind
    except (ValueError, TypeError) as error:
        sys.exit(f'Error: {error}')
    seconds = time.perf_counter() - start
    size_mb = osp.getsize(args.out) / 2**20
    dynamic = ''
    if args.dynamic:
        dynamic = (' (dynamic batch, height, width)'
                   if backbone.accepts_any_size else ' (dynamic batch)')
    print(f'Exported the {kind} of {args.config} at {shape[0]}x{shape[1]}'
          f'{dynamic} to {args.out}: {size_mb:.1f} MiB in {seconds:.0f} s.')

    session = inference_session(args.out, ['CPUExecutionProvider'])
    inputs = torch.randn(1, backbone.in_channels, *shape)
    with torch.no_grad():
        expected = flatten_outputs(deploy_graph(model)(inputs))
    actual = session.run(None, {INPUT_NAME: inputs.numpy()})
    diff = max(
        float((torch.from_numpy(a) - e).abs().max())
        for a, e in zip(actual, expected))
    print(f'onnxruntime vs PyTorch at {shape[0]}x{shape[1]}: max abs '
          f'difference {diff:.2e} over {len(expected)} outputs.')


if __name__ == '__main__':
    main()
