# Copyright (c) mmsepvit contributors. All rights reserved.
"""One image through a config's model and the host toolbox's own
inferencer and visualiser, whatever the toolbox.

Used by ``demo/image_demo.py`` (PyTorch) and
``tools/deployment/onnx_inference.py`` (an exported graph in onnxruntime),
so both draw the same picture.
"""
import os.path as osp
import tempfile
import warnings
from pathlib import Path
from typing import Optional

import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmsepvit.hosts import HOSTS, HostToolbox, host_of, resolve
from mmsepvit.utils import (UnusableInputError,
                            float32_mmcv_ops_under_cpu_autocast,
                            float32_predictions, require_file)


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
    """Raise a :class:`~mmsepvit.utils.UserError` unless ``path`` is an
    image the inferencers can use."""
    require_file(path, 'image')
    image = mmcv.imread(path)
    if image is None:
        raise UnusableInputError(
            f'{path} is not an image OpenCV can decode (JPEG, PNG, BMP, '
            f'TIFF, WebP, ...).')
    if min(image.shape[:2]) < MIN_SIDE:
        raise UnusableInputError(
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


def draw_seg(inferencer, image: str, score_thr: float) -> np.ndarray:
    """mmseg: the mask blended over the image."""
    # One image in: its visualisation comes back alone, not in a list.
    return inferencer(image, return_vis=True, opacity=0.5)['visualization']


def draw_det(inferencer, image: str, score_thr: float) -> np.ndarray:
    """mmdet: boxes (and masks) scoring at least ``score_thr``."""
    result = inferencer(image, return_vis=True, pred_score_thr=score_thr)
    return result['visualization'][0]


def draw_cls(inferencer, image: str, score_thr: float) -> np.ndarray:
    """mmpretrain: the label and score written on the image."""
    # mmpretrain's inferencer hands its drawing back only through a folder.
    with tempfile.TemporaryDirectory() as show_dir:
        # Small images get room for the label text.
        short_side = min(mmcv.imread(image).shape[:2])
        inferencer(
            image,
            show_dir=show_dir,
            resize=256 if short_side < 256 else None)
        return mmcv.imread(
            osp.join(show_dir, Path(image).stem + '.png'),
            channel_order='rgb')


def host_toolbox(inferencer) -> HostToolbox:
    """The host toolbox whose inferencer ``inferencer`` is."""
    return HOSTS[type(inferencer).__module__.split('.')[0]]


def draw_prediction(inferencer,
                    image: str,
                    score_thr: float = 0.3,
                    amp_dtype: Optional[torch.dtype] = None) -> np.ndarray:
    """The prediction for ``image`` drawn over it, as an RGB array:
    segmentation masks blended in, boxes and masks, or the class label and
    score.

    Args:
        inferencer: From :func:`build_inferencer`.
        image (str): Path of the image.
        score_thr (float): Detections below this score are not drawn.
            Defaults to 0.3.
        amp_dtype (torch.dtype, optional): Predict under autocast to this
            dtype (CPU: bfloat16; GPU: float16 or bfloat16). Defaults to
            None: float32.
    """
    draw = resolve(host_toolbox(inferencer).draw)
    if amp_dtype is None:
        return draw(inferencer, image, score_thr)
    model = inferencer.model
    test_step = model.test_step
    device = next(model.parameters()).device
    if device.type == 'cpu':
        float32_mmcv_ops_under_cpu_autocast()

    def autocast_test_step(data):
        with torch.autocast(device.type, dtype=amp_dtype):
            return test_step(data)

    model.test_step = float32_predictions(autocast_test_step)
    try:
        return draw(inferencer, image, score_thr)
    finally:
        del model.test_step  # the class's method again


def save_prediction(inferencer,
                    image: str,
                    out_file: str,
                    score_thr: float = 0.3,
                    amp_dtype: Optional[torch.dtype] = None) -> None:
    """Write :func:`draw_prediction` for ``image`` to ``out_file``."""
    drawing = draw_prediction(inferencer, image, score_thr, amp_dtype)
    mmcv.imwrite(mmcv.rgb2bgr(drawing), out_file)
    print(f'Saved the {host_toolbox(inferencer).scope} prediction to '
          f'{osp.abspath(out_file)}')
