# Copyright (c) mmsepvit contributors. All rights reserved.
"""Task distillation (docs/pretraining.md): the frozen teacher is unchanged
by training steps and absent from the checkpoint and the optimizer; the
distillation loss is zero when the student computes what the teacher does
and positive otherwise; the distilled outputs are the ones the student's
own losses see; a teacher that does not fit is refused naming both
shapes; through the tools, the checkpoint tests with the plain student
config, for seg and det, and a killed run resumes to the weights of an
uninterrupted one."""
import copy

import pytest
import torch
from cli_helpers import (DET_DEMO, NO_WORKERS, REPO, SEG_DEMO, TEST, TRAIN,
                         run_tool)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

from mmsepvit.apis import build_model
from mmsepvit.utils import ConfigMismatchError, MissingInputError

SEG_TASK_DISTILL = str(REPO / 'configs' / 'distill' /
                       'td_fpn_efficientnet_lite0_sepvit_lite_'
                       'stanford_background.py')
# The demos' student distilled from a teacher of the same config.
DEMO_TASK_DISTILL = """_base_ = [{student!r}]
model = dict(
    _delete_=True,
    type='mmsepvit.TaskDistiller',
    student=_base_.model,
    teacher={teacher!r},
    teacher_checkpoint={checkpoint!r},
    distill_loss=dict(type={loss!r}))
"""


def seg_batch(num_classes=5, size=64, seed=1):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(2):
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, size, size), generator=generator))
        samples.append(sample)
    return dict(
        inputs=[
            torch.randint(
                0, 256, (3, size, size), dtype=torch.uint8,
                generator=generator) for _ in range(2)
        ],
        data_samples=samples)


def demo_teacher(tmp_path, seed=1, config=SEG_DEMO, **model):
    """A checkpoint of ``config``'s model (its own random weights)."""
    cfg = Config.fromfile(config)
    cfg.model.update(model)
    torch.manual_seed(seed)
    teacher = build_model(cfg)
    teacher.init_weights()
    path = tmp_path / f'teacher_{seed}.pth'
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def task_distiller(teacher_checkpoint,
                   teacher=SEG_DEMO,
                   loss='mmsepvit.ChannelWiseDivergence',
                   seed=0):
    cfg = Config.fromfile(SEG_DEMO)
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(
            type='mmsepvit.TaskDistiller',
            student=cfg.model,
            teacher=teacher,
            teacher_checkpoint=str(teacher_checkpoint),
            distill_loss=dict(type=loss)))
    model.init_weights()
    return cfg, model


def test_the_checkpoint_is_the_students_and_the_teacher_stays(tmp_path):
    checkpoint = demo_teacher(tmp_path)
    cfg, model = task_distiller(checkpoint)
    student = build_model(Config.fromfile(SEG_DEMO))
    assert list(model.state_dict()) == list(student.state_dict())
    teacher = model.teacher
    before = copy.deepcopy(teacher.state_dict())
    saved = torch.load(checkpoint, weights_only=True)['state_dict']
    assert all(torch.equal(v, saved[k]) for k, v in before.items())
    assert any('running_mean' in k for k in before)  # BN statistics too
    seen = []
    teacher.backbone.register_forward_hook(
        lambda module, args, out: seen.append(
            (module.training, torch.is_grad_enabled())))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    assert model.backbone.training and not teacher.training
    students = copy.deepcopy(model.state_dict())
    for _ in range(3):
        losses = model.train_step(seg_batch(), optim_wrapper)
        assert {'decode.loss_ce', 'loss_distill'} <= set(losses)
    assert seen and all(mode == (False, False) for mode in seen)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in teacher.parameters())
    teacher_params = {id(p) for p in teacher.parameters()}
    assert not any(
        id(p) in teacher_params
        for group in optim_wrapper.optimizer.param_groups
        for p in group['params'])
    # The student trained: its own weights, as its config names them.
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(v, students[k])]
    assert any(k.startswith('backbone.') for k in changed)
    assert any(k.startswith('decode_head.conv_seg') for k in changed)


def test_the_loss_is_zero_when_the_student_is_the_teacher(tmp_path):
    """The teacher's checkpoint is the student's own weights: in eval mode
    (no dropout, BN on its statistics) both compute the same logits."""
    for loss in ('mmsepvit.ChannelWiseDivergence',
                 'mmsepvit.PixelWiseDivergence'):
        _, model = task_distiller(demo_teacher(tmp_path, seed=3), loss=loss)
        model.teacher.load_state_dict(model.state_dict())
        model.eval()
        batch = model.data_preprocessor(seg_batch(), True)
        with torch.no_grad():
            assert model(**batch, mode='loss')['loss_distill'].item() == 0
            model.decode_head.conv_seg.weight.mul_(1.5)
            assert model(**batch, mode='loss')['loss_distill'].item() > 1e-4


def test_the_distilled_logits_are_those_the_students_loss_sees(tmp_path):
    _, model = task_distiller(demo_teacher(tmp_path))
    model.eval()
    batch = model.data_preprocessor(seg_batch(), True)
    seen = []
    model.decode_head.register_forward_hook(
        lambda module, args, out: seen.append(out))
    original = model.distill_loss.forward
    pairs = []

    def record(student, teacher):
        pairs.append((student, teacher))
        return original(student, teacher)

    model.distill_loss.forward = record
    with torch.no_grad():
        model(**batch, mode='loss')
        (student, teacher), = pairs
        assert student.shape == (2, 5, 32, 32)  # 128x128 inputs, stride 4
        torch.testing.assert_close(
            student, model.outputs(model.student, batch['inputs'])[0])
        # The teacher sees its own inputs: the demo's normalisation.
        torch.testing.assert_close(
            teacher, model.outputs(model.teacher, batch['inputs'])[0])


def build_model_with(cfg, without):
    """A task distiller whose student lacks the module ``without``."""
    cfg['student'] = {k: v for k, v in cfg['student'].items() if k != without}
    init_default_scope('mmseg')
    return MODELS.build(cfg)


def test_a_teacher_that_does_not_fit_is_refused_naming_both(tmp_path):
    cfg = Config.fromfile(SEG_DEMO)
    cfg.model.decode_head.num_classes = 7
    other = tmp_path / 'seven_classes.py'
    cfg.dump(str(other))
    with pytest.raises(ConfigMismatchError) as error:
        task_distiller(tmp_path / 'unused.pth', teacher=str(other))
    message = str(error.value)
    assert '\n' not in message
    assert ("at 128x128 its decode logits have shapes [[1, 7, 32, 32]] and "
            "the student's [[1, 5, 32, 32]]") in message
    with pytest.raises(ConfigMismatchError,
                       match="distils the output of the student's neck"):
        build_model_with(dict(type='mmsepvit.TaskDistiller',
                              student=Config.fromfile(SEG_DEMO).model,
                              teacher=SEG_DEMO,
                              teacher_checkpoint='unused.pth',
                              distilled='neck',
                              distill_loss=dict(
                                  type='mmsepvit.PearsonFeatureDistance')),
                         without='neck')
    cfg = Config.fromfile(SEG_DEMO)
    cfg.model.data_preprocessor.bgr_to_rgb = False
    other = tmp_path / 'bgr.py'
    cfg.dump(str(other))
    with pytest.raises(ConfigMismatchError,
                       match="student's data preprocessor does reverse the "
                       "channel order .* and the teacher's does not"):
        task_distiller(tmp_path / 'unused.pth', teacher=str(other))
    with pytest.raises(MissingInputError,
                       match='teacher config .*none.py does not exist'):
        task_distiller(
            tmp_path / 'unused.pth', teacher=str(tmp_path / 'none.py'))


@pytest.mark.slow
@pytest.mark.parametrize('task', ['seg', 'det'])
def test_tools_train_then_test_with_the_plain_student_config(
        task, shapes_workspace, tmp_path):
    """tools/train.py on a task-distillation config, tools/test.py of its
    checkpoint with the student's own config."""
    demo, loss, options, checkpoint_name = dict(
        seg=(SEG_DEMO, 'mmsepvit.ChannelWiseDivergence', [
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2'
        ], 'iter_2.pth'),
        det=(DET_DEMO, 'mmsepvit.PearsonFeatureDistance', [
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'train_dataloader.dataset.indices=8'
        ], 'epoch_1.pth'))[task]
    config = tmp_path / 'task_distill.py'
    config.write_text(
        DEMO_TASK_DISTILL.format(
            student=demo,
            teacher=demo,
            checkpoint=str(demo_teacher(tmp_path, config=demo)),
            loss=loss))
    work_dir = tmp_path / 'work'
    code, out = run_tool([
        TRAIN, config, '--work-dir', work_dir, '--cfg-options', *options,
        'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
        *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    assert 'loss_distill' in out
    if task == 'seg':
        # A resumed run loads the teacher again: here one that is missing.
        code, out = run_tool([
            TRAIN, config, '--work-dir', work_dir, '--resume',
            '--cfg-options', *options, 'train_cfg.max_iters=3',
            f'model.teacher_checkpoint={tmp_path / "gone.pth"}', *NO_WORKERS
        ], shapes_workspace)
        assert code == 1 and 'gone.pth does not exist' in out, out[-2000:]
    code, out = run_tool(
        [TEST, demo, work_dir / checkpoint_name, *['--cfg-options'],
         *NO_WORKERS], shapes_workspace)
    assert code == 0, out[-3000:]
    assert ('mIoU' if task == 'seg' else 'bbox_mAP') in out


def test_the_seg_recipe_builds_from_its_teacher_config(tmp_path):
    """configs/distill's seg recipe: its teacher, the EfficientNet-Lite0 FPN
    of configs/seg, in the teacher's normalisation, 8 classes on both."""
    cfg = Config.fromfile(SEG_TASK_DISTILL)
    teacher_cfg = Config.fromfile(cfg.model.teacher)
    init_default_scope('mmseg')
    teacher_cfg.model.backbone.init_cfg = None
    teacher = build_model(teacher_cfg)
    torch.save({'state_dict': teacher.state_dict()}, tmp_path / 't.pth')
    cfg.model.teacher_checkpoint = str(tmp_path / 't.pth')
    cfg.model.student.backbone.init_cfg = None
    model = build_model(cfg)
    model.init_weights()
    assert type(model.teacher.backbone).__name__ == 'TIMMBackbone'
    pixels = torch.full((1, 3, 4, 4), 255.)
    inputs = (pixels - model.data_preprocessor.mean) / \
        model.data_preprocessor.std
    torch.testing.assert_close(model.teacher_inputs(inputs),
                               torch.ones(1, 3, 4, 4))
