# Copyright (c) mmsepvit contributors. All rights reserved.
"""The installed stack: compiled mmcv ops, the three host toolboxes, and
what runs without the ops."""
import importlib
import importlib.metadata
from pathlib import Path

import pytest
import torch

from host_facts import FACTS

from mmsepvit.engine import LayerDecayOptimWrapperConstructor
from mmsepvit.hosts import HOSTS
from mmsepvit.models import SepViT

REPO = Path(__file__).parents[2]


def test_mmcv_nms_runs_on_cpu():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    torch.testing.assert_close(dets[:, 4], torch.tensor([0.9, 0.7]))


def test_mmcv_roi_align_runs_on_cpu():
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = RoIAlign((2, 2), spatial_scale=1., sampling_ratio=2,
                   aligned=True)(feat, rois)
    # Each 2x2 bin samples the four pixel centres of its quadrant.
    torch.testing.assert_close(out,
                               torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))


PINS = dict(
    line.split('==')
    for line in (REPO / 'requirements' / 'constraints.txt').read_text().split()
    if '==' in line)


@pytest.mark.parametrize('scope', sorted(HOSTS))
def test_host_toolbox_is_pinned_and_serves_sepvit(scope):
    package = FACTS[scope].package
    assert importlib.metadata.version(package) == PINS[package]
    # Its models (and the compiled mmcv ops they need) import, and its
    # registries find SepViT and the layer-decay constructor by their
    # scoped names.
    importlib.import_module(f'{scope}.models')
    registry = importlib.import_module(f'{scope}.registry')
    assert registry.MODELS.get('mmsepvit.SepViT') is SepViT
    assert registry.OPTIM_WRAPPER_CONSTRUCTORS.get(
        'mmsepvit.LayerDecayOptimWrapperConstructor') is \
        LayerDecayOptimWrapperConstructor


CLASSIFICATION_WITHOUT_OPS = '''
import importlib.util
import os
import sys
sys.modules['mmcv._ext'] = None  # what an mmcv built without its ops lacks
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample
from mmsepvit.apis import build_model
sys.path.insert(0, os.path.dirname(sys.argv[2]))  # the benchmark tools' folder
from benchmarking import comparison_backbones

cfg = Config.fromfile(sys.argv[1])
with DefaultScope.overwrite_default_scope('mmpretrain'):
    model = build_model(cfg)
images = torch.rand(2, 3, 64, 64)
samples = [DataSample().set_gt_label(label) for label in (0, 1)]
loss = sum(model(images, samples, mode='loss').values())
loss.backward()
for tool in sys.argv[2:]:  # the benchmark scripts, imported (not run)
    spec = importlib.util.spec_from_file_location('tool', tool)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
for build in comparison_backbones(False).values():
    backbone = build()
    backbone.eval()  # some mmpretrain backbones' train() returns None
    backbone(torch.rand(1, 3, 224, 224))
try:
    import mmcv.ops  # noqa: F401
except ImportError:
    print('trained and ran without mmcv ops')
'''


@pytest.mark.slow
def test_classification_and_the_benchmarks_need_no_mmcv_ops():
    """docs/install.md, "GPUs": an mmcv built without its compiled ops (as
    on a GPU machine without a CUDA build) serves classification and the
    frontier and limits benchmarks' models."""
    import subprocess
    import sys
    result = subprocess.run(
        [sys.executable, '-c', CLASSIFICATION_WITHOUT_OPS,
         str(REPO / 'configs' / 'cls' / 'sepvit_demo_shapes.py'), *(
             str(REPO / 'tools' / 'analysis' / f'benchmark_{name}.py')
             for name in ('frontier', 'limits'))],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'trained and ran without mmcv ops' in result.stdout
