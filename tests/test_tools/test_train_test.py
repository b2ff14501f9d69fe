# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/train.py then tools/test.py for one config of each task, on a tiny
copy of the generated shapes data; --resume; clear errors for missing data
and weights."""
import os
import re
import subprocess
import sys
from pathlib import Path

import mmcv
import pytest
import torch
from authors_checkpoints import CONVERTER, authors_whole_model

from mmsepvit.datasets import make_shapes_datasets

REPO = Path(__file__).resolve().parents[2]
TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')
IMAGE_DEMO = str(REPO / 'demo' / 'image_demo.py')
NO_WORKERS = [
    f'{loader}.{key}={value}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key, value in (('num_workers', 0), ('persistent_workers', False))
]
TASKS = {
    'seg': ('configs/seg/fpn_sepvit_demo_shapes.py', [
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=2'
    ], ['mIoU', 'aAcc', 'mAcc'], 'ade/images/validation/val2017_00000.jpg'),
    'cls': ('configs/cls/sepvit_demo_shapes.py', [
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=8'
    ], ['accuracy/top1'], 'imagenet/val/circle/val_00000.png'),
    'det': ('configs/det/mask_rcnn_sepvit_demo_shapes.py', [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4'
    ], ['coco/bbox_mAP', 'coco/segm_mAP'], 'coco/val2017/val2017_00000.jpg'),
}


@pytest.fixture(scope='module')
def shapes_workspace(tmp_path_factory):
    """A working directory holding a tiny data/shapes, as the configs
    expect relative to the current directory."""
    root = tmp_path_factory.mktemp('workspace')
    make_shapes_datasets(
        str(root / 'data' / 'shapes'), num_train=8, num_val=4)
    return root


def _run(args, cwd):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run([sys.executable, *args],
                            cwd=cwd,
                            env=env,
                            capture_output=True,
                            text=True)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize('task', sorted(TASKS))
def test_train_then_test(task, shapes_workspace):
    config, options, metric_names, image = TASKS[task]
    work_dir = shapes_workspace / f'work_{task}'
    code, out = _run([
        TRAIN,
        str(REPO / config), '--work-dir',
        str(work_dir), '--cfg-options', *options, *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-4000:]
    for name in metric_names:
        assert re.search(rf'{re.escape(name)}: \d', out), (name, out[-3000:])

    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    pred_file = work_dir / 'preds.pkl'
    code, out = _run([
        TEST,
        str(REPO / config), checkpoint, '--work-dir',
        str(work_dir), '--out',
        str(pred_file), '--cfg-options', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-4000:]
    summary = [ln for ln in out.splitlines() if ln.startswith('Test metrics')]
    assert summary, out[-3000:]
    for name in metric_names:
        assert f'{name}: ' in summary[0]
    assert pred_file.stat().st_size > 0

    if task != 'det':  # mmdet has no test-time augmentation for masks
        code, out = _run([
            TEST,
            str(REPO / config), checkpoint, '--tta', '--work-dir',
            str(work_dir), '--cfg-options', *NO_WORKERS
        ], shapes_workspace)
        assert code == 0, out[-4000:]
        assert re.search(rf'Test metrics: .*{re.escape(metric_names[0])}: \d',
                         out)

    image = shapes_workspace / 'data' / 'shapes' / image
    vis_file = work_dir / 'vis.png'
    code, out = _run(
        [IMAGE_DEMO, str(image),
         str(REPO / config), checkpoint, '--out',
         str(vis_file)], shapes_workspace)
    assert code == 0, out[-4000:]
    vis = mmcv.imread(str(vis_file))
    assert vis.ndim == 3 and vis.shape[0] >= mmcv.imread(str(image)).shape[0]


def test_resume_continues_from_the_last_checkpoint(shapes_workspace):
    config, options, _, _ = TASKS['seg']
    work_dir = shapes_workspace / 'work_resume'
    common = [
        TRAIN,
        str(REPO / config), '--work-dir',
        str(work_dir), '--cfg-options', *options, *NO_WORKERS
    ]
    code, out = _run(common, shapes_workspace)
    assert code == 0, out[-4000:]
    assert (work_dir / 'iter_4.pth').exists()

    code, out = _run([*common, 'train_cfg.max_iters=6', '--resume'],
                     shapes_workspace)
    assert code == 0, out[-4000:]
    assert 'resumed epoch: 0, iter: 4' in out, out[-3000:]
    trained = re.findall(r'Iter\(train\) \[\s*(\d+)/6\]', out)
    assert trained == ['5', '6'], out[-3000:]
    assert (work_dir / 'iter_6.pth').exists()


def test_missing_dataset_is_one_clear_message(tmp_path):
    code, out = _run([TRAIN, str(REPO / 'configs/seg/upernet_sepvit_s_ade20k.py')],
                     tmp_path)
    assert code == 1
    assert 'Dataset not found' in out
    assert 'data/ade/ADEChallengeData2016' in out
    assert 'docs/dataset_prepare.md' in out
    assert 'Traceback' not in out


def test_missing_pretrained_weights_is_one_clear_message(shapes_workspace):
    # The real ADE20K config pointed at the shapes data, but no checkpoint.
    config = str(REPO / 'configs/seg/fpn_sepvit_t_ade20k.py')
    code, out = _run([
        TRAIN, config, '--cfg-options',
        'train_dataloader.dataset.data_root=data/shapes/ade',
        'val_dataloader.dataset.data_root=data/shapes/ade'
    ], shapes_workspace)
    assert code == 1
    assert ("Pretrained weights not found: 'checkpoints/sepvit_t_in1k.pth'"
            in out)
    assert 'model.backbone.init_cfg=None' in out
    assert 'Traceback' not in out


# A real RetinaNet and UperNet config pointed at the shapes data (the
# detector fine-tuned to its four classes), at a small test size.
AUTHORS_MODELS = {
    'configs/det/retinanet_sepvit_t_1x_coco.py': ({
        'model.bbox_head.num_classes': 4,
        'model.test_cfg.score_thr': 0.0,  # untrained: keep every box
    }, [
        'test_dataloader.dataset.data_root=data/shapes/coco/',
        'test_dataloader.dataset.metainfo.classes='
        '[circle,square,triangle,cross]',
        'test_dataloader.dataset.pipeline.1.scale=(256,256)',
        'test_evaluator.ann_file='
        'data/shapes/coco/annotations/instances_val2017.json',
    ], 'coco/bbox_mAP'),
    'configs/seg/upernet_sepvit_t_ade20k.py': ({}, [
        'test_dataloader.dataset.data_root=data/shapes/ade',
        'test_dataloader.dataset.pipeline.1.scale=(256,128)',
    ], 'mIoU'),
}


@pytest.mark.parametrize('config', sorted(AUTHORS_MODELS))
def test_converted_authors_checkpoint_runs_in_test_py(config,
                                                      shapes_workspace):
    model_options, data_options, metric = AUTHORS_MODELS[config]
    work_dir = shapes_workspace / ('authors_' + Path(config).stem)
    work_dir.mkdir()
    authors = authors_whole_model(config, cfg_options=model_options)
    src, dst = work_dir / 'authors.pth', work_dir / 'converted.pth'
    torch.save({'meta': {'epoch': 12}, 'state_dict': authors}, src)
    code, out = _run([str(CONVERTER), str(src), str(dst)], shapes_workspace)
    assert code == 0, out[-3000:]
    code, out = _run([
        TEST,
        str(REPO / config),
        str(dst), '--work-dir',
        str(work_dir), '--cfg-options',
        *[f'{k}={v}' for k, v in model_options.items()], *data_options,
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], shapes_workspace)
    assert code == 0, out[-4000:]
    assert re.search(rf'Test metrics: .*{re.escape(metric)}: \d', out), \
        out[-3000:]
    for warning in ('missing keys', 'unexpected key', 'size mismatch'):
        assert warning not in out, out[-3000:]
