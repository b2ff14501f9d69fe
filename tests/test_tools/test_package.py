# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmsepvit used as an installed OpenMMLab package from another folder:
``mmsepvit::`` configs and mim."""
import re
import subprocess
import sys
import zipfile

import pytest
from cli_helpers import NO_WORKERS, REPO, run_tools
from mmengine.config import Config

from mmsepvit.apis import load_model_index

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

USER_CONFIG = """
_base_ = ['mmsepvit::seg/fpn_sepvit_demo_shapes.py']
train_cfg = dict(max_iters=1, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
"""


def test_a_base_config_inherits_from_mmsepvit(tmp_path):
    config = tmp_path / 'backbone_only.py'
    config.write_text(
        "_base_ = ['mmsepvit::_base_/models/sepvit_dense_backbone.py']\n"
        "model = dict(type='EncoderDecoder', backbone=_base_.sepvit_backbone)"
        "\n")
    cfg = Config.fromfile(str(config))
    assert cfg.model.backbone.type == 'mmsepvit.SepViT'
    assert cfg.model.backbone.stage_norms == 'main_path'


def test_mim_trains_and_tests_a_user_config(shapes_workspace, tmp_path):
    """mim train / test a config outside the repository that inherits ours;
    mim run get_flops on one of ours."""
    project = tmp_path / 'my_project'  # outside the repository
    project.mkdir()
    (project / 'my_fpn.py').write_text(USER_CONFIG)
    work_dir = tmp_path / 'work'
    demo_cls = load_model_index()['sepvit-demo_shapes']
    (train_code, train_out), = run_tools([[
        '-m', 'mim', 'train', 'mmsepvit', project / 'my_fpn.py', '--work-dir',
        work_dir, '--cfg-options', 'train_dataloader.batch_size=2',
        *NO_WORKERS
    ]], shapes_workspace)
    assert train_code == 0, train_out[-4000:]
    assert (work_dir / 'iter_1.pth').is_file(), train_out[-3000:]
    # Built in the upstream toolbox's scope from our inherited config.
    dumped = Config.fromfile(str(work_dir / 'my_fpn.py'))
    assert dumped.default_scope == 'mmseg'
    assert dumped.model.backbone.type == 'mmsepvit.SepViT'
    assert re.search(r'Iter\(train\) \[1/1\]', train_out), train_out[-3000:]

    (test_code, test_out), (flops_code, flops_out) = run_tools([
        [
            '-m', 'mim', 'test', 'mmsepvit', project / 'my_fpn.py',
            '--checkpoint', work_dir / 'iter_1.pth', '--work-dir',
            work_dir / 'test', '--cfg-options', *NO_WORKERS
        ],
        ['-m', 'mim', 'run', 'mmsepvit', 'get_flops', demo_cls['Config']],
    ], shapes_workspace)
    assert test_code == 0, test_out[-3000:]
    assert re.search(r'Test metrics: .*mIoU: \d', test_out), test_out[-3000:]

    assert flops_code == 0, flops_out[-3000:]
    flops = re.search(r'FLOPs \(whole model\): ([\d.]+) G', flops_out)
    assert flops, flops_out[-3000:]
    assert float(flops.group(1)) == round(
        demo_cls['Metadata']['FLOPs'] / 1e9, 3)


def test_wheel_carries_configs_tools_and_model_index(tmp_path):
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w', tmp_path,
        str(REPO)
    ],
                   check=True,
                   capture_output=True)
    wheel, = tmp_path.glob('mmsepvit-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f'mmsepvit/.mim/{path.relative_to(REPO)}'
        for folder in ('configs', 'tools')
        for path in (REPO / folder).rglob('*')
        if path.is_file() and '__pycache__' not in path.parts
    } | {'mmsepvit/.mim/model-index.yml'}
    assert expected <= names, sorted(expected - names)[:10]
