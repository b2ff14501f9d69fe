# Copyright (c) mmsepvit contributors. All rights reserved.
"""Bad input stops with a message that says what was wrong and what is
valid."""
import shutil

import cv2
import numpy as np
import pytest
from cli_helpers import (CLS_DEMO, IMAGE_DEMO, NO_WORKERS, REPO, SEG_DEMO,
                         SIMMIM_SMALL_DATA, TEST, TRAIN, run_tool,
                         run_tools)
from mmengine.config import Config
from mmengine.utils import to_2tuple

from mmsepvit.cli.preflight import check_datasets, check_model_channels
from mmsepvit.utils import ConfigMismatchError, MissingInputError


def _assert_clear_error(code, out, *phrases):
    assert code == 1, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    for phrase in phrases:
        assert phrase in out, out[-3000:]


@pytest.fixture(scope='module')
def bad_label_workspace(shapes_workspace, tmp_path_factory):
    """The shapes data with a 9 in one training and one validation label
    map (8 after reduce_zero_label; the dataset has 5 classes)."""
    root = tmp_path_factory.mktemp('bad_labels')
    shutil.copytree(shapes_workspace / 'data', root / 'data')
    annotations = root / 'data' / 'shapes' / 'ade' / 'annotations'
    for split in ('training', 'validation'):
        path = sorted((annotations / split).glob('*.png'))[1]
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        label[:8, :8] = 9
        cv2.imwrite(str(path), label)
    return root


@pytest.mark.slow
def test_labels_outside_the_classes_are_named(bad_label_workspace,
                                              seg_checkpoint):
    (test_code, test_out), (train_code, train_out) = run_tools([
        [TEST, SEG_DEMO, seg_checkpoint, '--cfg-options', *NO_WORKERS],
        [
            TRAIN, SEG_DEMO, '--work-dir', bad_label_workspace / 'w',
            '--cfg-options', 'train_cfg.max_iters=8',
            'train_cfg.val_interval=8', 'train_dataloader.batch_size=4',
            *NO_WORKERS
        ],
    ], bad_label_workspace)
    _assert_clear_error(
        test_code, test_out, 'test: label 8 in data/shapes/ade/annotations/'
        'validation/val2017_00001.png', 'valid labels are 0..4 and 255')
    assert 'Test metrics' not in test_out
    _assert_clear_error(
        train_code, train_out, 'train: label 8 in data/shapes/ade/'
        'annotations/training/train2017_00001.png')


@pytest.mark.parametrize('command,refused', [
    (['misc/make_shapes_data.py', '--num-train', '0'],
     "argument --num-train: expected an integer >= 1, got '0'"),
    (['analysis/get_flops.py', 'sepvit-lite_in1k', '--shape', '-5', '7'],
     "argument --shape: expected an integer >= 1, got '-5'"),
    (['deployment/pytorch2onnx.py', 'sepvit-lite_in1k', '--out', 'x.onnx',
      '--shape', '224', '0'],
     "argument --shape: expected an integer >= 1, got '0'"),
    (['analysis/benchmark_limits.py', '--iters', '0'],
     "argument --iters: expected an integer >= 1, got '0'"),
    (['analysis/benchmark_limits.py', '--sizes', '224', '28'],
     "argument --sizes: expected an integer >= 29, got '28'"),
    (['analysis/benchmark_limits.py', '--train-batch-size', 'four'],
     "argument --train-batch-size: expected an integer >= 1, got 'four'"),
    (['analysis/benchmark_backbones.py', '--warmup', '-1'],
     "argument --warmup: expected an integer >= 0, got '-1'"),
    (['analysis/benchmark_backbones.py', '--device', 'tpu'],
     "argument --device: expected cpu or cuda[:N], got 'tpu'"),
    (['analysis/benchmark_limits.py', '--device', 'cuda:99'],
     "argument --device: 'cuda:99': this machine has"),
])
@pytest.mark.slow
def test_tools_refuse_counts_sizes_and_devices_they_cannot_use(
        command, refused, tmp_path):
    tool, *args = command
    code, out = run_tool([REPO / 'tools' / tool, *args], tmp_path)
    assert code == 2, out[-3000:]
    assert refused in out, out[-3000:]
    assert 'Traceback' not in out
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.slow
def test_unknown_cfg_options_key_is_refused(tmp_path):
    (train_code, train_out), (flops_code, flops_out) = run_tools([
        [
            TRAIN, SEG_DEMO, '--cfg-options', 'trian_cfg.max_iters=4',
            'train_cfg.val_interval=2'
        ],
        [
            REPO / 'tools' / 'analysis' / 'get_flops.py', SEG_DEMO,
            '--cfg-options', 'modle.backbone.drop_path_rate=0.5'
        ],
    ], tmp_path)
    _assert_clear_error(train_code, train_out,
                        "the config has no 'trian_cfg'",
                        'Did you mean train_cfg')
    _assert_clear_error(flops_code, flops_out, "the config has no 'modle'",
                        'Did you mean model')
    assert 'FLOPs' not in flops_out


@pytest.mark.slow
def test_empty_dataset_folders_are_named(tmp_path):
    images = tmp_path / 'data' / 'shapes' / 'ade' / 'images'
    for split in ('training', 'validation'):
        (images / split).mkdir(parents=True)
        (tmp_path / 'data' / 'shapes' / 'ade' / 'annotations' /
         split).mkdir(parents=True)
    code, out = run_tool([TRAIN, SEG_DEMO], tmp_path)
    _assert_clear_error(code, out, 'Dataset is empty',
                        "'data/shapes/ade/images/training'",
                        'make_shapes_data.py')


def test_an_empty_folder_of_unlabeled_images_is_named(tmp_path):
    """SimMIM's small-data recipe reads a folder of images, no labels."""
    (tmp_path / 'images').mkdir()
    code, out = run_tool([TRAIN, SIMMIM_SMALL_DATA],
                         tmp_path,
                         SIMMIM_IMAGES=str(tmp_path / 'images'))
    _assert_clear_error(code, out, 'Dataset is empty',
                        f"'{tmp_path / 'images'}'")


def test_dataset_messages_name_what_is_missing():
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(
                    type='CocoDataset',
                    data_root='data/mine/',
                    ann_file='a.json'))))
    with pytest.raises(MissingInputError) as error:
        check_datasets(cfg, ['test_dataloader'])
    message = str(error.value)
    assert "the CocoDataset dataset at 'data/mine'" in message
    assert 'COCO 2017' not in message and 'shapes' not in message
    cfg.test_dataloader.dataset = dict(
        type='CocoDataset', data_root='data/coco/', ann_file='a.json')
    with pytest.raises(MissingInputError, match='Prepare COCO 2017'):
        check_datasets(cfg, ['test_dataloader'])


@pytest.mark.parametrize('config,options,message', [
    ('configs/seg/fpn_sepvit_demo_shapes.py',
     dict(out_indices=(1, 2, 3)), 'model.neck.in_channels=[64, 128, 256]'),
    ('configs/det/retinanet_sepvit_t_1x_coco.py',
     dict(out_indices=(0, 1, 2, 3)), 'model.neck.in_channels=[96, 192, 384'),
    ('configs/seg/upernet_sepvit_t_ade20k.py',
     dict(out_indices=(1, 2, 3)), 'in_index=[0, 1, 2, 3] selects maps'),
    ('configs/cls/sepvit_t_in1k.py', dict(arch='small'), None),
    ('configs/cls/sepvit_t_in1k.py', dict(arch='base'),
     'model.head.in_channels=1024'),
])
def test_backbone_maps_must_fit_the_neck(config, options, message):
    cfg = Config.fromfile(REPO / config)
    cfg.model.backbone.update(options)
    if message is None:
        check_model_channels(cfg)  # S has T's channels
        return
    with pytest.raises(ConfigMismatchError) as error:
        check_model_channels(cfg)
    assert message in str(error.value)
    assert 'model.backbone.out_indices' in str(error.value)


@pytest.mark.slow
def test_tools_stop_on_a_backbone_that_does_not_fit(shapes_workspace):
    code, out = run_tool(
        [TRAIN, SEG_DEMO, '--cfg-options', 'model.backbone.out_indices=[3]'],
        shapes_workspace)
    _assert_clear_error(code, out, 'returns 1 maps of [256] channels',
                        'model.neck.in_channels=[32, 64, 128, 256]')


@pytest.mark.parametrize('content,message', [
    (b'not an image', 'is not an image OpenCV can decode'),
    ('1x1', 'is 1x1 pixels; the demo needs at least 2x2'),
])
@pytest.mark.slow
def test_image_demo_names_unusable_images(content, message, tmp_path):
    image = tmp_path / 'image.png'
    if content == '1x1':
        cv2.imwrite(str(image), np.zeros((1, 1, 3), np.uint8))
    else:
        image.write_bytes(content)
    code, out = run_tool(
        [IMAGE_DEMO, image, SEG_DEMO, tmp_path / 'missing.pth'], tmp_path)
    _assert_clear_error(code, out, message)


def test_cls_demo_takes_images_of_any_size(tmp_path):
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(CLS_DEMO)
    init_default_scope('mmpretrain')
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    for h, w in ((64, 64), (100, 80), (33, 200)):
        path = tmp_path / f'{h}x{w}.png'
        cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))
        packed = pipeline(dict(img_path=str(path)))
        # The size the model's per-window tokens were built for.
        assert packed['inputs'].shape[1:] == to_2tuple(
            cfg.model.backbone.img_size)
