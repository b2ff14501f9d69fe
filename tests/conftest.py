# Copyright (c) mmsepvit contributors. All rights reserved.
import sys
from pathlib import Path

import pytest
import torch

# Test helpers shared across folders (e.g. sepvit_reference) import by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``cuda`` on a machine without a GPU."""
    if torch.cuda.is_available():
        return
    no_gpu = pytest.mark.skip(reason='needs a CUDA GPU')
    for item in items:
        if item.get_closest_marker('cuda'):
            item.add_marker(no_gpu)


@pytest.fixture(scope='session')
def shapes_workspace(tmp_path_factory):
    """A working directory holding a tiny data/shapes, as the configs
    expect relative to the current directory."""
    from mmsepvit.demo_data import make_shapes_datasets
    root = tmp_path_factory.mktemp('workspace')
    make_shapes_datasets(
        str(root / 'data' / 'shapes'), num_train=8, num_val=4)
    return root


@pytest.fixture(scope='session')
def seg_checkpoint(shapes_workspace):
    """A checkpoint tools/train.py wrote for the seg demo (2 iterations)."""
    from cli_helpers import NO_WORKERS, SEG_DEMO, TRAIN, run_tool
    work_dir = shapes_workspace / 'work_seg_checkpoint'
    code, out = run_tool([
        TRAIN, SEG_DEMO, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'train_dataloader.batch_size=2', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    return work_dir / 'iter_2.pth'
