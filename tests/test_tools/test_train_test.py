# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/train.py then tools/test.py (also with --tta) and
demo/image_demo.py for one config of each task, on a tiny copy of the
generated shapes data; converted authors' checkpoints in tools/test.py;
clear errors for missing data and weights."""
import re
from pathlib import Path

import mmcv
import mmengine
import pytest
import torch
from authors_checkpoints import CONVERTER, authors_whole_model
from cli_helpers import IMAGE_DEMO, NO_WORKERS, REPO, TEST, TRAIN
from cli_helpers import run_tool as _run
from cli_helpers import run_tools

from mmsepvit.apis import load_model_index

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

TASKS = {
    'seg': ('configs/seg/fpn_sepvit_demo_shapes.py', [
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
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


def model_name(config):
    names = [
        name for name, model in load_model_index().items()
        if Path(model['Config']).resolve() == (REPO / config).resolve()
    ]
    assert len(names) == 1, (config, names)
    return names[0]


def mmdet_offline_metrics(config, pred_file):
    """A ``test.py --out`` dump evaluated the way mmdet documents it
    (``tools/analysis_tools/eval_metric.py``), in the current directory."""
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    return evaluator.offline_evaluate(mmengine.load(pred_file))


@pytest.mark.parametrize('task', sorted(TASKS))
def test_train_then_test(task, shapes_workspace, monkeypatch):
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
    image = shapes_workspace / 'data' / 'shapes' / image
    vis_file = work_dir / 'vis.png'
    commands = [
        # test.py and image_demo.py take the config by its model-index name,
        # as users may write it.
        [
            TEST,
            model_name(config), checkpoint, '--work-dir', work_dir, '--out',
            pred_file, '--cfg-options', *NO_WORKERS
        ],
        [IMAGE_DEMO, image, model_name(config), checkpoint, '--out', vis_file],
    ]
    if task != 'det':  # mmdet has no test-time augmentation for masks
        commands.append([
            TEST, REPO / config, checkpoint, '--tta', '--work-dir',
            work_dir / 'tta', '--cfg-options', *NO_WORKERS
        ])
    (code, out), (demo_code, demo_out), *tta = run_tools(
        commands, shapes_workspace)
    assert code == 0, out[-4000:]
    summary = [ln for ln in out.splitlines() if ln.startswith('Test metrics')]
    assert summary, out[-3000:]
    for name in metric_names:
        assert f'{name}: ' in summary[0]
    assert pred_file.stat().st_size > 0
    if task == 'det':  # what mmdet's own test.py dumps (DumpDetResults)
        dumped = mmengine.load(pred_file)
        assert all('gt_instances' not in d for d in dumped)
        masks = [m for d in dumped for m in d['pred_instances']['masks']]
        assert masks and all(set(m) == {'size', 'counts'} for m in masks)
        monkeypatch.chdir(shapes_workspace)
        offline = mmdet_offline_metrics(REPO / config, pred_file)
        for name in metric_names:
            assert f'{name}: {offline[name]:.4f}' in summary[0], offline

    assert demo_code == 0, demo_out[-4000:]
    vis = mmcv.imread(str(vis_file))
    assert vis.ndim == 3 and vis.shape[0] >= mmcv.imread(str(image)).shape[0]

    for code, out in tta:
        assert code == 0, out[-4000:]
        assert re.search(rf'Test metrics: .*{re.escape(metric_names[0])}: \d',
                         out)


def test_missing_dataset_is_one_clear_message(tmp_path):
    config = REPO / 'configs/seg/upernet_sepvit_s_ade20k.py'
    code, out = _run([TRAIN, str(config)], tmp_path)
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


def test_converted_authors_checkpoints_run_in_test_py(shapes_workspace):
    """An authors'-layout RetinaNet and UperNet, converted, evaluate with
    tools/test.py, loaded strictly."""
    conversions, commands = [], []
    for config, (model_options, data_options, _) in AUTHORS_MODELS.items():
        work_dir = shapes_workspace / ('authors_' + Path(config).stem)
        work_dir.mkdir()
        authors, _ = authors_whole_model(config, cfg_options=model_options)
        src, dst = work_dir / 'authors.pth', work_dir / 'converted.pth'
        torch.save({'meta': {'epoch': 12}, 'state_dict': authors}, src)
        conversions.append([CONVERTER, src, dst])
        commands.append([
            TEST, REPO / config, dst, '--work-dir', work_dir,
            '--cfg-options', *[f'{k}={v}' for k, v in model_options.items()],
            *data_options, 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False'
        ])
    for code, out in run_tools(conversions, shapes_workspace):
        assert code == 0, out[-3000:]
    results = run_tools(commands, shapes_workspace)
    for (_, _, metric), (code, out) in zip(AUTHORS_MODELS.values(), results):
        assert code == 0, out[-4000:]
        assert re.search(rf'Test metrics: .*{re.escape(metric)}: \d', out), \
            out[-3000:]
