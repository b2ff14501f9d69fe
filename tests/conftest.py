# Copyright (c) mmsepvit contributors. All rights reserved.
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# Test helpers shared across folders (e.g. sepvit_reference) import by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The suite runs in two pytest-xdist workers (setup.cfg): most of a test's
# time runs on one core (tracing, exports, a tool's start), so the workers
# share the cores, each test and every tool it starts (the environment is
# inherited) with its part of them; more threads than cores make PyTorch's
# threads wait for each other many times over.
if 'PYTEST_XDIST_WORKER_COUNT' in os.environ:
    _cores = max(1, (os.cpu_count() or 1) //
                 int(os.environ['PYTEST_XDIST_WORKER_COUNT']))
    os.environ['OMP_NUM_THREADS'] = str(_cores)
    torch.set_num_threads(_cores)


@pytest.fixture(autouse=True)
def _seeded_generators():
    """Each test starts from the same random state, whichever tests ran
    before it in its worker: a result never depends on the test order."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


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
    from cli_helpers import REPO, import_tool
    make_shapes_datasets = import_tool(
        REPO / 'tools' / 'misc' / 'shapes_data.py').make_shapes_datasets
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
