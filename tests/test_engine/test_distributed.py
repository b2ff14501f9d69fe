# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/dist_train.sh and tools/dist_test.sh on a machine without GPUs:
two CPU processes over gloo train one model and evaluate like one
process."""
import re
import subprocess
from pathlib import Path

import pytest
import torch
from cli_helpers import NO_WORKERS, REPO, SEG_DEMO, TEST, run_tool, tool_env

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]


def _metrics(out):
    lines = re.findall(r'^Test metrics: .*$', out, re.M)
    assert lines, out[-3000:]
    return lines[0]


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path; GPUs take mmengine\'s')
def test_two_cpu_processes_train_and_test(shapes_workspace, tmp_path):
    config = tmp_path / 'probed.py'
    config.write_text(
        f'_base_ = {SEG_DEMO!r}\n'
        "custom_imports = dict(imports=['mmsepvit', 'dist_probe'], "
        'allow_failed_imports=False)\n'
        'custom_hooks = _base_.custom_hooks + '
        "[dict(type='DistProbeHook')]\n")
    work_dir = tmp_path / 'work'
    env = tool_env(PYTHONPATH=str(TESTS), PORT='29517')
    train = subprocess.run([
        'bash',
        str(REPO / 'tools' / 'dist_train.sh'),
        str(config), '2', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=4',
        'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
        'train_dataloader.batch_size=2', *NO_WORKERS
    ],
                           cwd=shapes_workspace,
                           env=env,
                           capture_output=True,
                           text=True,
                           timeout=600)
    out = train.stdout + train.stderr
    assert train.returncode == 0, out[-4000:]
    assert "backend='gloo'" in out  # the config the run printed

    ranks = [torch.load(work_dir / f'probe_rank{r}.pth') for r in (0, 1)]
    # One model: the ranks end with the same weights ...
    for name, value in ranks[0]['params'].items():
        assert torch.equal(value, ranks[1]['params'][name]), name
    # ... trained on different images (each rank its share of the data).
    first = [set(rank['seen'][0]) for rank in ranks]
    assert first[0] and not first[0] & first[1]
    assert ranks[0]['seen'] != ranks[1]['seen']

    checkpoint = work_dir / 'iter_4.pth'
    # For exact resumes, the random generators of both processes.
    assert len(torch.load(checkpoint, weights_only=False)['rng_states']) == 2
    # Two processes, and side by side one.
    two_processes = subprocess.Popen([
        'bash',
        str(REPO / 'tools' / 'dist_test.sh'),
        str(config),
        str(checkpoint), '2', '--work-dir',
        str(tmp_path / 'two'), '--cfg-options', *NO_WORKERS
    ],
                                     cwd=shapes_workspace,
                                     env=env,
                                     stdout=open(tmp_path / 'two.log', 'w'),
                                     stderr=subprocess.STDOUT)
    code, one = run_tool([
        TEST, config, checkpoint, '--work-dir', tmp_path / 'one',
        '--cfg-options', *NO_WORKERS
    ],
                         shapes_workspace,
                         PYTHONPATH=str(TESTS))
    assert two_processes.wait(600) == 0, (tmp_path / 'two.log').read_text()
    two = (tmp_path / 'two.log').read_text()
    assert code == 0, one[-3000:]
    assert two.count('Test metrics') == 1  # the main process reports
    assert _metrics(two) == _metrics(one)
