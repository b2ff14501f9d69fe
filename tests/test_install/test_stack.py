# Copyright (c) mmsepvit contributors. All rights reserved.
"""The installed stack: compiled mmcv ops, the three host toolboxes."""
import importlib

import pytest
import torch


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


@pytest.mark.parametrize('module',
                         ['mmpretrain.models', 'mmseg.models', 'mmdet.models'])
def test_host_toolbox_models_import(module):
    assert importlib.import_module(module) is not None
