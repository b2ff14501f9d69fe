# Copyright (c) mmsepvit contributors. All rights reserved.
"""Export the model of an mmsepvit config to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE.onnx
        [--shape H W] [--dynamic] [--onnxruntime-fusions] [--int8]
        [--cfg-options ...]

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
import time

import torch
from mmengine.config import Config
from mmengine.registry import DATASETS

from mmsepvit.apis import build_model
from mmsepvit.cli import (OptionError, add_cfg_options_arg, add_config_arg,
                          at_least, load_config, run)
from mmsepvit.cli.preflight import check_model_channels
from mmsepvit.deployment import (deploy_graph, export_onnx,
                                 inference_session)
from mmsepvit.deployment.onnx_export import INPUT_NAME, flatten_outputs
from mmsepvit.hosts import host_of
from mmsepvit.utils import load_checkpoint_into


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_config_arg(parser)
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (default: random weights)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape',
        type=at_least(1),
        nargs=2,
        metavar=('H', 'W'),
        help='input size of the export (default: the backbone\'s img_size '
        'for classifiers, 512 512 for segmentors and detectors)')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='batch, height and width dynamic (height and width stay fixed '
        'for the ImageNet models, whose window tokens are learned per '
        'window position)')
    parser.add_argument(
        '--onnxruntime-fusions',
        action='store_true',
        help='fuse the graph for onnxruntime (attention into Attention or '
        'MultiHeadAttention, add + LayerNorm, bias + GELU; faster there, '
        'runs in onnxruntime only)')
    parser.add_argument(
        '--int8',
        action='store_true',
        help='int8 weights for the linear layers, activations quantized at '
        'run time (onnxruntime\'s dynamic quantization, onnxruntime only; '
        'measured faster on a CPU with AVX-512 VNNI, see docs/deploy.md); '
        'attention and convolutions stay fp32')
    add_cfg_options_arg(parser)
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
        raise OptionError('--out must end with .onnx.')
    cfg = load_config(args.config, args.cfg_options)
    check_model_channels(cfg)
    model = build_model(cfg).eval()
    checkpoint = None
    if args.checkpoint is not None:
        checkpoint = load_checkpoint_into(model, args.checkpoint)
    else:
        print('No checkpoint: exporting random weights.')
    backbone = model.backbone
    shape = tuple(args.shape or host_of(cfg.default_scope).export_shape
                  or backbone.img_size)

    start = time.perf_counter()
    try:
        kind = export_onnx(
            model,
            args.out,
            shape,
            dynamic=args.dynamic,
            metadata=dict(dataset_meta=dataset_meta(cfg, checkpoint)),
            onnxruntime_fusions=args.onnxruntime_fusions,
            int8_linear_weights=args.int8).kind
    except (ValueError, TypeError) as error:  # no export at this size
        raise OptionError(str(error))
    seconds = time.perf_counter() - start
    size_mb = osp.getsize(args.out) / 2**20
    dynamic = ''
    if args.dynamic:
        dynamic = (' (dynamic batch, height, width)'
                   if backbone.accepts_any_size else ' (dynamic batch)')
    int8 = ', int8 linear weights' if args.int8 else ''
    print(f'Exported the {kind} of {args.config} at {shape[0]}x{shape[1]}'
          f'{dynamic}{int8} to {args.out}: {size_mb:.1f} MiB in '
          f'{seconds:.0f} s.')

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
    run(main)
