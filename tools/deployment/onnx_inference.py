# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run an exported model in onnxruntime on one image and save the visualised
prediction, as demo/image_demo.py draws it.

    python tools/deployment/onnx_inference.py IMAGE CONFIG MODEL.onnx
        [--checkpoint CKPT] [--out result.png] [--providers ...]

CONFIG is the config (file or model name) the model was exported from: its
data preprocessor prepares the image and its host toolbox's post-processing
turns the graph's outputs into labels, masks or boxes. Execution providers
default to TensorRT and CUDA where onnxruntime has them, else CPU. A Mask
R-CNN graph ends after the RPN; its RoI stages run in PyTorch and need
--checkpoint.
"""
import argparse

from mmengine.config import Config

from mmsepvit.apis import (build_inferencer, build_model, check_image,
                           save_prediction)
from mmsepvit.cli import OptionError, add_config_arg, load_config, run
from mmsepvit.deployment import OnnxRuntimeModel
from mmsepvit.deployment.onnx_export import TWO_STAGE_DETECTOR, deploy_graph
from mmsepvit.utils import load_checkpoint_into, require_file


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='image file')
    add_config_arg(parser)
    parser.add_argument('onnx', help='the .onnx file')
    parser.add_argument(
        '--checkpoint',
        help='weights of the RoI stages (two-stage detectors only)')
    parser.add_argument('--out', default='result.png', help='output PNG')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='detection threshold')
    parser.add_argument(
        '--providers',
        nargs='+',
        help='onnxruntime execution providers, best first (default: '
        'TensorRT, CUDA where present, then CPU)')
    return parser.parse_args()


def build_onnx_model(cfg: Config, args) -> OnnxRuntimeModel:
    model = build_model(cfg)
    if deploy_graph(model).kind == TWO_STAGE_DETECTOR:
        if args.checkpoint is None:
            raise OptionError(
                'this two-stage detector\'s RoI stages are not in the graph '
                'and run in PyTorch: pass the checkpoint it was exported '
                'from with --checkpoint.')
    if args.checkpoint is not None:
        load_checkpoint_into(model, args.checkpoint)
    return OnnxRuntimeModel(args.onnx, model, providers=args.providers)


def main():
    args = parse_args()
    check_image(args.image)
    cfg = load_config(args.config)
    require_file(args.onnx, 'ONNX model')
    model = build_onnx_model(cfg, args)
    inferencer = build_inferencer(cfg, None, model=model)
    save_prediction(inferencer, args.image, args.out, args.score_thr)


if __name__ == '__main__':
    run(main)
