# Copyright (c) mmsepvit contributors. All rights reserved.
"""--amp / --amp-dtype / --compile of tools/train.py, tools/test.py and
demo/image_demo.py: bfloat16 mixed-precision training of the seg demo on
CPU, float16 (loss scaling) and bfloat16 training of the classification
demo on a GPU, detectors trained and evaluated in bfloat16 on CPU, and the
image demo's bfloat16 predictions of all three host toolboxes."""
from argparse import Namespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmsepvit.apis import build_inferencer, build_model, draw_prediction
from mmsepvit.engine import AutocastOptimWrapper
from mmsepvit.cli import OptionError, apply_precision_args
from authors_checkpoints import build_model as fresh_model
from cli_helpers import (CLS_DEMO, DET_DEMO, IMAGE_DEMO, NO_WORKERS,
                         SEG_DEMO, TEST, TRAIN, run_tools)
from precision_helpers import AUTOCAST_TOLERANCE, relative_error

CPU_ONLY = pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU choices of --amp')


def _args(amp=False, amp_dtype=None, compile=False):
    return Namespace(amp=amp, amp_dtype=amp_dtype, compile=compile)


@CPU_ONLY
def test_amp_trains_in_bf16_and_loss_goes_down(shapes_workspace):
    cfg = Config.fromfile(SEG_DEMO)
    apply_precision_args(cfg, _args(amp=True), training=True)
    assert cfg.optim_wrapper.type == 'mmsepvit.AutocastOptimWrapper'

    dataset = cfg.train_dataloader.dataset
    dataset.data_root = str(shapes_workspace / 'data' / 'shapes' / 'ade')
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = build_model(cfg)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    assert isinstance(optim_wrapper, AutocastOptimWrapper)

    dtypes = []
    model.backbone.stages[0].blocks[0].attn.qkv.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    model.train()
    losses = []
    for _ in range(5):  # the same batch: the loss must fall
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(log_vars['loss'].item())
    assert set(dtypes) == {torch.bfloat16}  # the matmuls ran in bf16
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[-1] < 0.8 * losses[0], losses
    # Weights and optimizer state stay float32.
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.cuda
@pytest.mark.parametrize('amp_dtype', [None, 'bfloat16'])
def test_amp_trains_on_gpu_and_loss_goes_down(shapes_workspace, amp_dtype):
    """``--amp`` on a GPU: mmengine's AmpOptimWrapper, float16 with dynamic
    loss scaling by default, or ``--amp-dtype bfloat16``."""
    cfg = Config.fromfile(CLS_DEMO)
    apply_precision_args(
        cfg, _args(amp=True, amp_dtype=amp_dtype), training=True)
    dtype = getattr(torch, amp_dtype or 'float16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'

    dataset = cfg.train_dataloader.dataset
    dataset.data_root = str(shapes_workspace / 'data' / 'shapes' / 'imagenet')
    cfg.train_dataloader.update(
        batch_size=8, num_workers=0, persistent_workers=False)
    # Without the schedule's warm-up, the demo's rate makes the loss on one
    # batch jump about; a lower one lets it fall steadily.
    cfg.optim_wrapper.optimizer.lr = 5e-4
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = build_model(cfg).cuda()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))

    dtypes = []
    model.backbone.stages[0].blocks[0].attn.qkv.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    model.train()
    losses = []
    # The same batch: the loss must fall, also if the loss scaler skips its
    # first steps (its scale starts high and halves at an overflow).
    for _ in range(15):
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(log_vars['loss'].item())
    assert set(dtypes) == {dtype}  # the matmuls ran in the chosen dtype
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert min(losses[-3:]) < 0.8 * losses[0], losses
    assert all(p.dtype == torch.float32 for p in model.parameters())


@CPU_ONLY
def test_amp_and_compile_options_enter_the_config():
    cfg = Config.fromfile(SEG_DEMO)
    apply_precision_args(cfg, _args(amp=True, compile=True), training=False)
    assert cfg.test_cfg.fp16 and cfg.val_cfg.fp16
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # evaluation only
    assert cfg.compile == dict(dynamic=True)

    with pytest.raises(OptionError, match='float16 needs a GPU'):
        apply_precision_args(
            cfg, _args(amp=True, amp_dtype='float16'), training=True)
    with pytest.raises(OptionError, match='with --amp only'):
        apply_precision_args(cfg, _args(amp_dtype='bfloat16'), training=True)
    cfg.optim_wrapper.type = 'MyOwnWrapper'
    with pytest.raises(OptionError, match="uses 'MyOwnWrapper'"):
        apply_precision_args(cfg, _args(amp=True), training=True)
    with pytest.raises(ValueError, match='bfloat16 only'):
        AutocastOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD([torch.nn.Parameter(torch.ones(1))],
                                      lr=0.1))


@CPU_ONLY
@pytest.mark.slow
def test_amp_trains_evaluates_and_draws_detectors_on_cpu(
        shapes_workspace, seg_checkpoint, tmp_path):
    """mmcv's CPU NMS and RoIAlign take float32 only and the evaluators and
    inferencers hand predictions to numpy: each stopped a detector under
    bfloat16 autocast."""
    checkpoint = tmp_path / 'det.pth'
    torch.save(dict(state_dict=fresh_model(DET_DEMO).state_dict()),
               checkpoint)
    image = next((shapes_workspace / 'data' / 'shapes' / 'coco' /
                  'val2017').glob('*.jpg'))
    drawing = tmp_path / 'drawn.png'
    (train_code, train_out), (test_code, test_out), (demo_code, demo_out) = (
        run_tools([
            [TRAIN, DET_DEMO, '--amp', '--work-dir', tmp_path / 'train',
             '--cfg-options', 'train_cfg.max_epochs=1', *NO_WORKERS],
            [TEST, DET_DEMO, checkpoint, '--amp', '--work-dir',
             tmp_path / 'test', '--cfg-options', *NO_WORKERS],
            [IMAGE_DEMO, image, SEG_DEMO, seg_checkpoint, '--amp', '--out',
             drawing],
        ], shapes_workspace))
    assert train_code == 0, train_out[-3000:]
    assert 'Epoch(train) [1]' in train_out and 'coco/bbox_mAP' in train_out
    assert test_code == 0, test_out[-3000:]
    assert 'Test metrics: coco/bbox_mAP' in test_out
    assert demo_code == 0, demo_out[-3000:]
    assert drawing.is_file()


@CPU_ONLY
@pytest.mark.parametrize('config,images', [
    (CLS_DEMO, 'imagenet/val'),
    (DET_DEMO, 'coco/val2017'),
    (SEG_DEMO, 'ade/images/validation'),
], ids=['cls', 'det', 'seg'])
def test_image_demo_predicts_in_bf16_close_to_fp32(config, images,
                                                   shapes_workspace,
                                                   tmp_path):
    """What ``image_demo.py --amp`` draws: the backbone's products run in
    bfloat16, its maps stay within the autocast tolerance of float32, and
    the drawing comes back as the float32 one does."""
    checkpoint = tmp_path / 'weights.pth'
    torch.save(dict(state_dict=fresh_model(config).state_dict()), checkpoint)
    image = str(next((shapes_workspace / 'data' / 'shapes' / images).rglob(
        '*_00000.*')))
    inferencer = build_inferencer(
        Config.fromfile(config), str(checkpoint), 'cpu')
    backbone = inferencer.model.backbone
    maps, dtypes = [], []
    backbone.register_forward_hook(lambda module, inputs, output: maps.append(
        output))
    backbone.stages[0].blocks[0].attn.qkv.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    reference = draw_prediction(inferencer, image)
    drawing = draw_prediction(inferencer, image, amp_dtype=torch.bfloat16)
    assert dtypes == [torch.float32, torch.bfloat16]
    assert relative_error(maps[1], maps[0]) < AUTOCAST_TOLERANCE
    assert drawing.shape == reference.shape and drawing.dtype == np.uint8
