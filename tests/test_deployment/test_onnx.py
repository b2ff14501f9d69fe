# Copyright (c) mmsepvit contributors. All rights reserved.
"""ONNX export and onnxruntime inference, checked against PyTorch at the
level users see: logits, feature maps, boxes and the drawn prediction.

- SepViT-Lite's ImageNet classifier, exported by the tool with a dynamic
  batch, at batch sizes 1 to 3;
- the seg demo's trained checkpoint, exported by the tool with --dynamic at
  512x512, at four other sizes, as a standard graph and with onnxruntime's
  fusions (every attention one operator, Attention or MultiHeadAttention);
- onnx_inference.py draws what image_demo.py draws (both classifiers'
  and segmentors' checkpoints);
- RetinaNet (raw head outputs, then the boxes mmdet's post-processing makes
  of them) and Mask R-CNN (FPN and RPN in the graph, RoI stages in PyTorch);
- int8 linear weights (``--int8``) against PyTorch, and tools/test.py
  evaluating an exported graph as it evaluates the checkpoint.
"""
import copy
import logging
import shutil
import subprocess
import time

import mmcv
import numpy as np
import pytest
import torch
from authors_checkpoints import build_model
from cli_helpers import (IMAGE_DEMO, NO_WORKERS, REPO, SEG_DEMO, TEST,
                         run_tool, run_tools, tool_env)
from mmengine.runner import load_checkpoint

from mmsepvit.deployment import (OnnxRuntimeModel, deploy_graph, export_onnx,
                                 inference_session, quantize_linear_layers)
from mmsepvit.deployment.onnx_export import INPUT_NAME, flatten_outputs

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

EXPORT = REPO / 'tools' / 'deployment' / 'pytorch2onnx.py'
ONNX_INFERENCE = REPO / 'tools' / 'deployment' / 'onnx_inference.py'
CLS_LITE = str(REPO / 'configs' / 'cls' / 'sepvit_lite_in1k.py')
CLS_LITE_NAME = 'sepvit-lite_in1k'  # its name in the model index
TOLERANCE = 1e-4


def compare(graph, session, inputs):
    """Max abs difference of every output; the PyTorch outputs."""
    with torch.no_grad():
        expected = flatten_outputs(graph(inputs))
    actual = session.run(None, {INPUT_NAME: inputs.numpy()})
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == tuple(e.shape)
    diff = max(
        float((torch.from_numpy(a) - e).abs().max())
        for a, e in zip(actual, expected))
    return diff, expected, [torch.from_numpy(a) for a in actual]


def assert_same_argmax(expected, actual, diff, dim=1):
    """Identical class decisions wherever an error of ``diff`` on each
    logit cannot swap the top two."""
    differ = expected.argmax(dim) != actual.argmax(dim)
    top2 = expected.topk(2, dim).values
    gap = (top2.select(dim, 0) - top2.select(dim, 1))
    assert bool((gap[differ] <= 2 * diff).all()), int(differ.sum())


@pytest.fixture(scope='module')
def exports(seg_checkpoint, shapes_workspace):
    """The tool's exports, made side by side (tracing runs on one core):
    the seg demo checkpoint with --dynamic at the default 512x512 (also
    with --onnxruntime-fusions), and a checkpoint of SepViT-Lite's ImageNet
    config (fresh weights) with a dynamic batch.

    Returns:
        dict: ``{'seg': (checkpoint, onnx), 'seg_fused': (checkpoint,
        onnx), 'cls': (checkpoint, onnx)}``.
    """
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    cls_checkpoint = seg_checkpoint.parent / 'cls.pth'
    torch.save(
        dict(
            state_dict=build_model(CLS_LITE).state_dict(),
            meta=dict(dataset_meta=dict(classes=IMAGENET_CATEGORIES))),
        cls_checkpoint)
    files = dict(
        seg=(seg_checkpoint, seg_checkpoint.parent / 'seg.onnx'),
        seg_fused=(seg_checkpoint, seg_checkpoint.parent / 'seg_fused.onnx'),
        cls=(cls_checkpoint, seg_checkpoint.parent / 'cls.onnx'))
    results = run_tools([
        [EXPORT, SEG_DEMO, files['seg'][0], '--out', files['seg'][1],
         '--dynamic'],
        [EXPORT, SEG_DEMO, files['seg_fused'][0], '--out',
         files['seg_fused'][1], '--dynamic', '--onnxruntime-fusions'],
        [EXPORT, CLS_LITE_NAME, files['cls'][0], '--out', files['cls'][1],
         '--dynamic'],
    ], shapes_workspace)
    (seg_code, seg_out), (fused_code, fused_out), (cls_code, cls_out) = (
        results)
    for code, out in ((seg_code, seg_out), (fused_code, fused_out)):
        assert code == 0, out[-3000:]
        assert 'at 512x512 (dynamic batch, height, width)' in out
    assert cls_code == 0, cls_out[-3000:]
    assert 'at 224x224 (dynamic batch)' in cls_out
    return files


def pytorch_and_onnx(config, checkpoint, onnx_file):
    """The checkpoint's graph in PyTorch and the exported one's session."""
    model = build_model(config).eval()
    load_checkpoint(model, str(checkpoint), strict=True)
    return deploy_graph(model), inference_session(str(onnx_file))


@pytest.mark.parametrize('export', ['seg', 'seg_fused'])
def test_dynamic_seg_export_is_exact_at_other_sizes(exports, export):
    import onnx

    from mmsepvit.models.utils import SeparableSelfAttention
    graph, session = pytorch_and_onnx(SEG_DEMO, *exports[export])
    # Fused: one operator per attention (at any size: the fusions hold with
    # symbolic shapes), DWA with its q/k/v projection.
    attentions = [
        m for m in graph.modules() if isinstance(m, SeparableSelfAttention)
    ]
    ops = [node.op_type for node in onnx.load(exports[export][1]).graph.node]
    fused = export == 'seg_fused'
    assert ops.count('Attention') == (len(attentions) if fused else 0)
    assert ops.count('MultiHeadAttention') == (
        sum(m.with_pwa for m in attentions) if fused else 0)
    for shape in ((1, 512, 512), (1, 360, 480), (2, 97, 131),
                  (1, 800, 1344)):
        diff, (expected, ), (actual, ) = compare(graph, session,
                                                 torch.randn(shape[0], 3,
                                                             *shape[1:]))
        # Logits at the input size, as the decode head predicts them.
        assert expected.shape == (shape[0], 5, *shape[1:])
        assert diff <= TOLERANCE, shape
        assert_same_argmax(expected, actual, diff)


def test_classifier_export_is_exact_for_any_batch(exports):
    import onnx
    graph, session = pytorch_and_onnx(CLS_LITE, *exports['cls'])
    # One Gelu operator per GELU (opset 20), not an Erf chain.
    ops = [node.op_type for node in onnx.load(exports['cls'][1]).graph.node]
    num_gelus = sum(
        isinstance(m, torch.nn.GELU) for m in graph.modules())
    assert ops.count('Gelu') == num_gelus and 'Erf' not in ops
    # One window token per window position: the size is fixed.
    assert session.get_inputs()[0].shape[2:] == [224, 224]
    for batch in (1, 2, 3):
        diff, (expected, ), (actual, ) = compare(
            graph, session, torch.randn(batch, 3, 224, 224))
        assert expected.shape == (batch, 1000)
        assert diff <= TOLERANCE, batch
        assert_same_argmax(expected, actual, diff)


@pytest.mark.parametrize('task,image', [
    ('seg', 'ade/images/validation/val2017_00001.jpg'),
    ('cls', 'imagenet/val/circle/val_00000.png'),
])
def test_onnx_inference_draws_what_image_demo_draws(task, image, exports,
                                                    shapes_workspace,
                                                    tmp_path):
    config = dict(seg=SEG_DEMO, cls=CLS_LITE_NAME)[task]
    checkpoint, onnx_file = exports[task]
    image = shapes_workspace / 'data' / 'shapes' / image
    (code_pt, out_pt), (code_ort, out_ort) = run_tools([
        [IMAGE_DEMO, image, config, checkpoint, '--out',
         tmp_path / 'pytorch.png'],
        [ONNX_INFERENCE, image, config, onnx_file, '--out',
         tmp_path / 'onnxruntime.png'],
    ], shapes_workspace)
    assert code_pt == 0, out_pt[-3000:]
    assert code_ort == 0, out_ort[-3000:]
    drawn_pt = mmcv.imread(str(tmp_path / 'pytorch.png'))
    drawn_ort = mmcv.imread(str(tmp_path / 'onnxruntime.png'))
    assert np.array_equal(drawn_pt, drawn_ort)


def det_batch(shape, batch=1):
    """A preprocessed batch and its data samples."""
    from mmdet.structures import DetDataSample
    inputs = torch.randn(batch, 3, *shape)
    samples = []
    for _ in range(batch):
        sample = DetDataSample()
        sample.set_metainfo(
            dict(
                img_shape=shape,
                ori_shape=shape,
                pad_shape=shape,
                scale_factor=(1., 1.),
                batch_input_shape=shape))
        samples.append(sample)
    return inputs, samples


def assert_same_detections(expected, actual, top=20):
    """The ``top`` best boxes agree as sets (near-equal scores may trade
    places) with nearly equal scores and coordinates."""
    for e, a in zip(expected, actual):
        e = e.pred_instances[:top]
        a = a.pred_instances[:top]
        assert len(e) == len(a) > 0
        torch.testing.assert_close(
            a.scores, e.scores, atol=TOLERANCE, rtol=0)
        distances = torch.cdist(e.bboxes, a.bboxes)
        match = distances.argmin(1)
        assert float(distances.min(1).values.max()) < 1e-2
        assert torch.equal(e.labels, a.labels[match])


@pytest.mark.parametrize('config,options,shape,num_outputs', [
    ('configs/det/retinanet_sepvit_t_1x_coco.py', {
        'model.backbone.arch': 'lite',
        'model.backbone.init_cfg': None,
        'model.neck.in_channels': [64, 128, 256],
        # Untrained heads score about 0.01, below the default 0.05.
        'model.test_cfg.score_thr': 0.
    }, (256, 320), 10),
    ('configs/det/mask_rcnn_sepvit_demo_shapes.py', {}, (128, 160), 15),
])
def test_detector_export_gives_the_same_detections(config, options, shape,
                                                   num_outputs, tmp_path):
    model = build_model(config, cfg_options=options).eval()
    onnx_file = str(tmp_path / 'det.onnx')
    graph = export_onnx(model, onnx_file, shape)
    session = inference_session(onnx_file)
    inputs, samples = det_batch(shape)
    diff, _, _ = compare(graph, session, inputs)
    assert len(session.get_outputs()) == num_outputs
    assert diff <= TOLERANCE
    with torch.no_grad():
        expected = model(
            inputs, [s.clone() for s in samples], mode='predict')
        actual = OnnxRuntimeModel(onnx_file, model)(inputs, samples)
    assert_same_detections(expected, actual)


class _PoolAndUpsample(torch.nn.Module):
    """UPerHead's pyramid pooling and FPNHead's upsampling, in small."""

    def __init__(self):
        super().__init__()
        from mmseg.models.decode_heads.psp_head import PPM
        from mmseg.models.utils import Upsample
        self.ppm = PPM((1, 3),
                       4,
                       4,
                       conv_cfg=None,
                       norm_cfg=None,
                       act_cfg=dict(type='ReLU'),
                       align_corners=False)
        self.upsample = Upsample(
            scale_factor=2, mode='bilinear', align_corners=False)

    def forward(self, x):
        return self.upsample(x + sum(self.ppm(x)))


@pytest.mark.parametrize('rewrite', [True, False])
def test_size_dependent_modules_are_rewritten_for_dynamic_graphs(
        rewrite, tmp_path):
    from mmsepvit.deployment.onnx_export import (export_module,
                                                 make_size_independent)
    torch.manual_seed(0)
    module = _PoolAndUpsample().eval()
    exported = copy.deepcopy(module)
    if rewrite:
        make_size_independent(exported)
    onnx_file = str(tmp_path / 'head.onnx')
    export_module(
        exported,
        torch.randn(1, 4, 24, 30),
        onnx_file,
        dynamic_dims=(0, 2, 3))
    session = inference_session(onnx_file)
    diffs = []
    for shape in ((24, 30), (13, 17), (40, 41)):
        try:
            diffs.append(compare(module, session, torch.randn(2, 4,
                                                              *shape))[0])
        except Exception:  # onnxruntime refuses out-of-bounds gathers
            diffs.append(float('inf'))
    assert diffs[0] <= TOLERANCE
    # Without the rewrite other sizes come out wrong: the test can fail.
    assert (max(diffs) <= TOLERANCE) == rewrite, diffs


class _FixesItsBatch(torch.nn.Module):
    """Branches on the batch size in Python: the trace keeps one branch."""

    def forward(self, x):
        return x + 1 if x.shape[0] == 2 else x - 1


def test_export_refuses_to_freeze_a_dynamic_dimension(tmp_path):
    from mmsepvit.deployment.onnx_export import export_module
    with pytest.raises(ValueError, match=r'dimensions \[0\].*sizes \[2\]'):
        export_module(
            _FixesItsBatch(),
            torch.randn(2, 3, 8, 8),
            str(tmp_path / 'toy.onnx'),
            dynamic_dims=(0, ))


def test_runtime_names_an_operator_its_providers_lack(tmp_path):
    # What onnxruntime's fusions make of an InstanceNorm: a GroupNorm that
    # only its CUDA provider implements.
    import onnx
    from onnx import TensorProto, helper

    from mmsepvit.utils import UnusableInputError
    channels = 4
    node = helper.make_node(
        'GroupNorm', ['x', 'gamma', 'beta'], ['y'],
        domain='com.microsoft', groups=2, activation=0, epsilon=1e-5)
    graph = helper.make_graph(
        [node], 'fused',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT,
                                       [1, 8, 8, channels])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT,
                                       [1, 8, 8, channels])],
        [helper.make_tensor(name, TensorProto.FLOAT, [channels],
                            [1.] * channels) for name in ('gamma', 'beta')])
    path = tmp_path / 'fused.onnx'
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid('', 20), helper.make_opsetid('com.microsoft', 1)
    ]), str(path))
    with pytest.raises(UnusableInputError,
                       match='GroupNorm.*without them'):
        inference_session(str(path), ['CPUExecutionProvider'])


def test_sessions_leave_the_cores_free_when_a_run_returns(tmp_path):
    """onnxruntime's threads spin on after a run by default (about 0.05 s of
    CPU in the 0.3 s after one here), slowing whatever runs next."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(
            rng.standard_normal(shape).astype(np.float32), name)
        for name, shape in (('w1', (64, 3, 3, 3)), ('w2', (64, 64, 3, 3)))
    ]
    graph = helper.make_graph([
        helper.make_node('Conv', ['x', 'w1'], ['h'], pads=[1] * 4),
        helper.make_node('Conv', ['h', 'w2'], ['y'], pads=[1] * 4)
    ], 'convs', [
        helper.make_tensor_value_info('x', TensorProto.FLOAT,
                                      [4, 3, 128, 128])
    ], [
        helper.make_tensor_value_info('y', TensorProto.FLOAT,
                                      [4, 64, 128, 128])
    ], weights)
    path = tmp_path / 'convs.onnx'
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid('', 20)]),
        str(path))
    session = inference_session(
        str(path), ['CPUExecutionProvider'], num_threads=2)
    x = rng.standard_normal((4, 3, 128, 128)).astype(np.float32)
    for _ in range(4):
        session.run(None, {'x': x})
    cpu = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - cpu < 0.01


def test_runtime_refuses_files_and_inputs_that_do_not_fit(exports, tmp_path):
    _, seg_file = exports['seg']
    _, cls_file = exports['cls']
    seg_model = build_model(SEG_DEMO)
    not_onnx = tmp_path / 'model.onnx'
    not_onnx.write_bytes(b'not a protobuf at all')
    with pytest.raises(ValueError, match='is not an ONNX model'):
        OnnxRuntimeModel(str(not_onnx), seg_model)
    with pytest.raises(ValueError,
                       match="holds a 'classifier' graph, but the config "
                       "builds a 'segmentor'"):
        OnnxRuntimeModel(str(cls_file), seg_model)
    classifier = OnnxRuntimeModel(str(cls_file), build_model(CLS_LITE))
    with pytest.raises(ValueError, match='exported for inputs of shape'):
        classifier.run_graph(torch.randn(1, 3, 64, 64))
    # A graph of another config of the same kind: its classes differ.
    for config, file, options in (
            (CLS_LITE, cls_file, {'model.head.num_classes': 10}),
            (SEG_DEMO, seg_file, {'model.decode_head.num_classes': 6})):
        with pytest.raises(
                ValueError,
                match=r'predicts (1000|5) classes, but the config\'s model '
                r'predicts (10|6): it was exported from another config'):
            OnnxRuntimeModel(
                str(file), build_model(config, cfg_options=options))


def test_tools_name_the_closest_models_for_a_mistyped_name(tmp_path):
    image = tmp_path / 'image.png'
    mmcv.imwrite(np.zeros((32, 32, 3), np.uint8), str(image))
    results = run_tools([
        [EXPORT, 'sepvit-lite_inlk', '--out', tmp_path / 'x.onnx'],
        [ONNX_INFERENCE, image, 'sepvit-lite_inlk', tmp_path / 'x.onnx'],
        [REPO / 'tools' / 'analysis' / 'get_flops.py', 'sepvit-lite_inlk'],
    ], tmp_path)
    for code, out in results:
        assert code == 1, out[-3000:]
        assert ("'sepvit-lite_inlk' is neither a config file nor a model "
                'name; did you mean sepvit-lite_in1k') in out, out[-3000:]
        assert 'Traceback' not in out


def test_int8_linear_weights_stay_close_to_pytorch(exports, tmp_path,
                                                   caplog):
    import onnx
    checkpoint, fused_file = exports['seg_fused']
    int8_file = tmp_path / 'seg_int8.onnx'
    shutil.copy(fused_file, int8_file)
    with caplog.at_level(logging.WARNING):
        quantize_linear_layers(str(int8_file))
    # Not a warning per tensor of onnxruntime's fused operators.
    assert not caplog.records, caplog.records[:3]
    graph, session = pytorch_and_onnx(SEG_DEMO, checkpoint, int8_file)
    ops = [node.op_type for node in onnx.load(int8_file).graph.node]
    # Every linear layer's product in int8 (the q/k/v projections inside
    # QAttention), the convolutions in fp32.
    linears = sum(isinstance(m, torch.nn.Linear) for m in graph.modules())
    assert ops.count('MatMulInteger') + ops.count('QAttention') == linears
    assert 'Attention' not in ops and 'MatMul' not in ops
    assert 'ConvInteger' not in ops
    assert int8_file.stat().st_size < 0.5 * fused_file.stat().st_size
    for shape in ((1, 512, 512), (2, 97, 131)):
        diff, (expected, ), (actual, ) = compare(
            graph, session, torch.randn(shape[0], 3, *shape[1:]))
        assert diff <= 0.05 * float(expected.abs().max()), shape
        agree = (expected.argmax(1) == actual.argmax(1)).float().mean()
        assert agree >= 0.95, shape
    # The metadata survives: the runtime knows the graph and the classes.
    model = OnnxRuntimeModel(str(int8_file), build_model(SEG_DEMO))
    assert model.dataset_meta['classes'][1:] == (
        'circle', 'square', 'triangle', 'cross')


def _metrics(out):
    """``{name: value}`` of the ``Test metrics:`` line tools/test.py
    prints."""
    prefix = 'Test metrics: '
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    return {
        key: float(value)
        for key, value in (item.split(': ')
                           for item in line[len(prefix):].split(', '))
    }


def _assert_same_metrics(graph_out, checkpoint_out):
    graph, checkpoint = _metrics(graph_out), _metrics(checkpoint_out)
    assert set(graph) == set(checkpoint) and 'mIoU' in checkpoint
    for key in checkpoint:
        assert graph[key] == pytest.approx(checkpoint[key], abs=0.02), key


def test_test_tool_evaluates_an_exported_graph_as_its_checkpoint(
        exports, shapes_workspace, tmp_path):
    checkpoint, fused_file = exports['seg_fused']
    _, cls_file = exports['cls']
    test = [TEST, SEG_DEMO, '--cfg-options', *NO_WORKERS]
    (pth_code, pth_out), (onnx_code, onnx_out), (tta_code, tta_out), (
        wrong_code, wrong_out) = run_tools([
            [*test[:2], checkpoint, '--work-dir', tmp_path / 'pth',
             *test[2:]],
            [*test[:2], fused_file, '--work-dir', tmp_path / 'onnx',
             *test[2:]],
            [*test[:2], fused_file, '--tta'],
            [*test[:2], cls_file, '--work-dir', tmp_path / 'wrong',
             *test[2:]],
        ], shapes_workspace)
    assert pth_code == 0 and onnx_code == 0, (pth_out + onnx_out)[-3000:]
    _assert_same_metrics(onnx_out, pth_out)
    assert tta_code == 1 and 'Traceback' not in tta_out
    assert ('--tta: for PyTorch checkpoints only; '
            f'{fused_file} is an exported graph') in tta_out
    assert wrong_code == 1 and 'Traceback' not in wrong_out
    assert "holds a 'classifier' graph, but the config builds a " \
        "'segmentor'" in wrong_out


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path; GPUs take mmengine\'s')
def test_dist_test_evaluates_a_graph_in_two_processes(exports,
                                                      shapes_workspace,
                                                      tmp_path):
    """tools/dist_test.sh with an exported graph: two CPU processes, each
    its share of the images in onnxruntime, the checkpoint's metrics."""
    checkpoint, fused_file = exports['seg_fused']
    two_processes = subprocess.run([
        'bash',
        str(REPO / 'tools' / 'dist_test.sh'), SEG_DEMO,
        str(fused_file), '2', '--work-dir',
        str(tmp_path / 'two'), '--cfg-options', *NO_WORKERS
    ],
                                   cwd=shapes_workspace,
                                   env=tool_env(PORT='29519'),
                                   capture_output=True,
                                   text=True,
                                   timeout=600)
    two = two_processes.stdout + two_processes.stderr
    assert two_processes.returncode == 0, two[-3000:]
    assert two.count('Test metrics') == 1  # the main process reports
    code, one = run_tool([
        TEST, SEG_DEMO, checkpoint, '--work-dir', tmp_path / 'one',
        '--cfg-options', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, one[-3000:]
    _assert_same_metrics(two, one)
