# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/analysis/task_frontier.py end to end on two trained seg demo
checkpoints: both rows with the metrics tools/test.py prints, the front,
the CSV and the PNG; onnxruntime rows with the metrics reused."""
import csv
import re

import pytest
from cli_helpers import NO_WORKERS, REPO, SEG_DEMO, TEST, TRAIN, run_tool

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

TOOL = str(REPO / 'tools' / 'analysis' / 'task_frontier.py')
TEST_LOADER = [o for o in NO_WORKERS if o.startswith('test_dataloader')]


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_two_demo_checkpoints_give_rows_metrics_front_and_plot(
        seg_checkpoint, shapes_workspace, tmp_path):
    longer = tmp_path / 'longer'
    code, out = run_tool([
        TRAIN, SEG_DEMO, '--work-dir', longer, '--cfg-options',
        'train_cfg.max_iters=12', 'train_cfg.val_interval=12',
        'default_hooks.checkpoint.interval=12',
        'train_dataloader.batch_size=2', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    checkpoints = dict(short=seg_checkpoint, long=longer / 'iter_12.pth')
    printed = {}
    for name, checkpoint in checkpoints.items():
        code, out = run_tool(
            [TEST, SEG_DEMO, checkpoint, '--cfg-options', *TEST_LOADER],
            shapes_workspace)
        assert code == 0, out[-3000:]
        printed[name] = float(re.search(r'^Test metrics: .*mIoU: ([\d.]+)',
                                        out, re.M).group(1))
    assert printed['long'] != printed['short']

    out_dir = tmp_path / 'frontier'
    models = [arg for checkpoint in checkpoints.values()
              for arg in ('--model', SEG_DEMO, checkpoint)]
    code, out = run_tool([
        TOOL, *models, '--name', *checkpoints, '--backends', 'pytorch',
        '--dtypes', 'fp32', '--iters', '2', '--out', out_dir,
        '--cfg-options', *TEST_LOADER
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    assert 'evaluating short with tools/test.py' in out
    rows = _rows(out_dir / 'task_frontier.csv')
    assert [r['name'] for r in rows] == ['short', 'long']
    for row in rows:
        assert float(row['value']) == printed[row['name']]
        assert row['metric'] == 'mIoU' and row['sepvit'] == 'True'
        # The demo's 128x128 images through its test Resize (256x128, keep
        # ratio).
        assert row['input_hw'] == '128x128'
        assert float(row['latency_ms']) > 0 and float(row['backbone_ms']) > 0
    # The front: the model no other beats on both axes is on it; one that
    # is both slower and less accurate than the other is not.
    best, other = sorted(rows, key=lambda r: -float(r['value']))
    assert best['on_front'] == 'True'
    dominated = float(other['latency_ms']) >= float(best['latency_ms'])
    assert other['on_front'] == str(not dominated)
    assert (out_dir / 'task_frontier.png').stat().st_size > 10000
    assert re.search(r'^\| long \| pytorch \| fp32 \| ', out, re.M)

    # onnxruntime, the metric read from the first run's CSV.
    code, out = run_tool([
        TOOL, '--model', SEG_DEMO, checkpoints['long'], '--name', 'long',
        '--backends', 'onnxruntime', '--iters', '1', '--out',
        tmp_path / 'ort', '--metrics-from', out_dir / 'task_frontier.csv',
        '--cfg-options', *TEST_LOADER
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    assert 'evaluating' not in out
    row, = _rows(tmp_path / 'ort' / 'task_frontier.csv')
    assert (row['backend'], row['dtype']) == ('onnxruntime', 'fp32')
    assert float(row['value']) == printed['long']
    assert row['on_front'] == 'True' and row['backbone_ms'] == ''
