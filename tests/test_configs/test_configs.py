# Copyright (c) mmsepvit contributors. All rights reserved.
"""Every config under configs/ loads, builds its model and optimizer, and
runs one inference step on a tiny input; one training step too, except for
the S and B variants, whose models differ from T's only in widths and depths
(their channels against the necks and heads are checked by building and
running them). A checkpoint a config starts from is the one its own config
writes."""
import copy
import functools
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

from host_facts import CONFIG_FOLDERS, FACTS

from mmsepvit.hosts import HOSTS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts)


# Convnets the small-data comparisons measure SepViT against, and teachers.
PEERS = {
    'configs/seg/fpn_mobilenet_v2_stanford_background.py',
    'configs/seg/fpn_efficientnet_lite0_stanford_background.py',
    'configs/det/mask_rcnn_efficientnet_lite0_demo_shapes.py'
}


@functools.cache
def _loaded(path):
    return Config.fromfile(path)


def load_config(path):
    """The config at ``path``, parsed once for all the tests here (a
    second of each test on 2 cores); a copy the caller may change."""
    return copy.deepcopy(_loaded(Path(path).resolve()))


def test_every_host_toolbox_has_configs():
    assert {Path(c).parts[1] for c in CONFIGS} == set(CONFIG_FOLDERS)


def _tiny_model_cfg(cfg, tmp_path):
    """The config's model without pretrained weights, at 64x64; a
    distiller's teacher with its own initial weights."""
    model = cfg.model
    if 'student' not in model:
        model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    # The task model to shrink: a task distiller's student.
    task_model = model.get('student', model)
    task_model.backbone.init_cfg = None  # no ImageNet checkpoint in tests
    if cfg.default_scope == 'mmpretrain':
        task_model.backbone.img_size = 64
    if cfg.default_scope == 'mmseg':
        task_model.data_preprocessor.size = (64, 64)
    if 'teacher' in model:
        if isinstance(model.teacher, str):  # a config file: its model
            teacher_cfg = load_config(model.teacher)
            model.teacher = _tiny_model_cfg(teacher_cfg, tmp_path)
        teacher = MODELS.build(model.teacher)
        prefix = model.get('teacher_prefix', '')
        model.teacher_checkpoint = str(tmp_path / 'teacher.pth')
        torch.save({prefix + k: v
                    for k, v in teacher.state_dict().items()},
                   model.teacher_checkpoint)
    return model


def _cls_batch(num_classes):
    from mmpretrain.structures import DataSample
    return dict(
        inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2,
        data_samples=[
            DataSample().set_gt_label(i % num_classes) for i in range(2)
        ])


def _seg_batch(num_classes):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(2):
        sample = SegDataSample(
            metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, 64, 64)))
        samples.append(sample)
    return dict(
        inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2,
        data_samples=samples)


def _selfsup_batch(model_cfg):
    """Images and SimMIM masks of the backbone's ``img_size``."""
    from mmpretrain.datasets.transforms import SimMIMMaskGenerator
    from mmpretrain.structures import DataSample
    size = model_cfg.backbone.img_size
    generator = SimMIMMaskGenerator(
        input_size=size, mask_patch_size=32, model_patch_size=4)
    # Stacked, as the configs' default_collate gives them.
    return dict(
        inputs=torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8),
        data_samples=[
            DataSample().set_mask(torch.from_numpy(generator({})['mask']))
            for _ in range(2)
        ])


def _det_batch(num_classes):
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 64)] * 2,
        num_items=[3, 2],
        num_classes=num_classes,
        with_mask=True)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_and_predicts_one_step(config, tmp_path):
    cfg = load_config(REPO / config)
    assert cfg.custom_imports.imports == ['mmsepvit']
    assert cfg.default_scope in HOSTS
    host = HOSTS[cfg.default_scope]
    folder = Path(config).parts[1]
    assert folder in FACTS[cfg.default_scope].folders
    backbone = cfg.model.get('student', cfg.model).backbone
    assert backbone.type in ('mmsepvit.SepViT',
                             'mmsepvit.SimMIMSepViT') or config in PEERS
    init_default_scope(cfg.default_scope)
    model_cfg = _tiny_model_cfg(cfg, tmp_path)
    # Pretraining (mmpretrain's scope outside cls/) predicts nothing; task
    # distillation trains and predicts as its student.
    pretraining = cfg.default_scope == 'mmpretrain' and (folder !=
                                                         host.config_folder)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    if pretraining:
        batch = _selfsup_batch(model_cfg)
    else:
        make_batch = dict(
            cls=_cls_batch, seg=_seg_batch,
            det=_det_batch)[host.config_folder]
        batch = make_batch(FACTS[cfg.default_scope].num_classes(
            model_cfg.get('student', model_cfg)))
    if backbone.get('arch') not in ('small', 'base', 's', 'b'):
        torch.manual_seed(0)
        model.train()
        losses = model.train_step(batch, optim_wrapper)
        assert losses and all(torch.isfinite(v) for v in losses.values())

    model.eval()
    if pretraining:
        return
    with torch.no_grad():
        predictions = model.test_step(batch)
    assert len(predictions) == 2
    assert all(FACTS[cfg.default_scope].prediction_field in p
               for p in predictions)


CHECKPOINT_OF_CONFIG = re.compile(
    r'work_dirs/(\w+)/(iter|epoch)_(\d+)\.pth')


def _final_checkpoint(config_name):
    """What ``tools/train.py`` leaves last in ``work_dirs/<config_name>``
    when the config runs unchanged: ``(unit, number)``."""
    paths = list((REPO / 'configs').rglob(f'{config_name}.py'))
    assert len(paths) == 1, f'no config writes work_dirs/{config_name}'
    train_cfg = load_config(paths[0]).train_cfg
    if train_cfg.get('max_iters') is not None:
        return 'iter', train_cfg.max_iters
    return 'epoch', train_cfg.max_epochs


@pytest.mark.parametrize('config', CONFIGS)
def test_default_checkpoints_are_what_their_configs_write(config):
    """A config that starts from another config's checkpoint names the one
    that config's own schedule ends with (the distilled or pretrained
    backbone, a task teacher), so that the documented chain of commands
    runs without options."""
    text = repr(load_config(REPO / config).to_dict())
    for name, unit, number in CHECKPOINT_OF_CONFIG.findall(text):
        assert _final_checkpoint(name) == (unit, int(number)), (config, name)
