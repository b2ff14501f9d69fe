# Copyright (c) mmsepvit contributors. All rights reserved.
"""One image through a config's model and the host toolbox's own
inferencer and visualiser, whatever the toolbox.

Used by ``demo/image_demo.py`` (PyTorch) and
``tools/deployment/onnx_inference.py`` (an exported graph in onnxruntime),
so both draw the same picture.
"""
import os.path as osp
import warnings
from typing import Optional

import mmcv
import numpy as np
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmsepvit.hosts import HOSTS, HostToolbox, host_of


def build_model(cfg: Config) -> nn.Module:
    """The config's model, built as the Runner builds it: in the config's
    default scope, with a top-level ``data_preprocessor`` (mmpretrain's
    configs keep the normalisation there) merged into the model.

    The weights are the fresh ones of the constructors; ``init_weights``
    (and so a ``Pretrained`` init) is not run.
    """
    init_default_scope(cfg.default_scope)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model_cfg)


# mmseg's visualiser fails on a 1x1 map.
MIN_SIDE = 2


def check_image(path: str) -> None:
    """Raise ValueError unless ``path`` is an image the inferencers can
    use."""
    if not osp.isfile(path):
        raise ValueError(f'image {path} does not exist.')
    image = mmcv.imread(path)
    if image is None:
        raise ValueError(
            f'{path} is not an image OpenCV can decode (JPEG, PNG, BMP, '
            f'TIFF, WebP, ...).')
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f'{path} is {image.shape[1]}x{image.shape[0]} pixels; the demo '
            f'needs at least {MIN_SIDE}x{MIN_SIDE}.')


def build_inferencer(cfg: Config,
                     checkpoint: Optional[str],
                     device: str = 'cpu',
                     model: Optional[nn.Module] = None):
    """The host toolbox's inferencer for ``cfg``.

    Args:
        cfg (Config): An mmsepvit config.
        checkpoint (str, optional): Weights for the config's model; None
            when ``model`` brings its own.
        device (str): Defaults to ``'cpu'``.
        model (nn.Module, optional): Runs instead of the config's model, e.g.
            an :class:`~mmsepvit.deployment.OnnxRuntimeModel`. Its
            ``dataset_meta`` names the classes. Defaults to None.
    """
    host = host_of(cfg.get('default_scope'))
    with warnings.catch_warnings():
        if model is not None:
            # They warn that the (unused) config model has random weights.
            warnings.simplefilter('ignore')
        inferencer = host.build_inferencer(cfg, checkpoint, device)
    if model is not None:
        inferencer.model = model
        meta = model.dataset_meta or {}
        # mmpretrain's inferencer keeps the class names itself, the others'
        # visualisers do.
        if hasattr(inferencer, 'classes'):
            inferencer.classes = meta.get('classes')
        else:
            inferencer.visualizer.dataset_meta = meta
    return inferencer


def host_toolbox(inferencer) -> HostToolbox:
    """The host toolbox whose inferencer ``inferencer`` is."""
    return HOSTS[type(inferencer).__module__.split('.')[0]]


def draw_prediction(inferencer,
                    image: str,
                    score_thr: float = 0.3) -> np.ndarray:
    """The prediction for ``image`` drawn over it, as an RGB array:
    segmentation masks blended in, boxes and masks, or the class label and
    score.

    Args:
        inferencer: From :func:`build_inferencer`.
        image (str): Path of the image.
        score_thr (float): Detections below this score are not drawn.
            Defaults to 0.3.
    """
    return host_toolbox(inferencer).draw(inferencer, image, score_thr)


def save_prediction(inferencer,
                    image: str,
                    out_file: str,
                    score_thr: float = 0.3) -> None:
    """Write :func:`draw_prediction` for ``image`` to ``out_file``."""
    drawing = draw_prediction(inferencer, image, score_thr)
    mmcv.imwrite(mmcv.rgb2bgr(drawing), out_file)
    print(f'Saved the {host_toolbox(inferencer).scope} prediction to '
          f'{osp.abspath(out_file)}')
