# Copyright (c) mmsepvit contributors. All rights reserved.
"""A run whose loss turns non-finite stops there with exit status 1 and a
message, keeps its good checkpoints and ``last_checkpoint``, and
``--resume`` at a lower learning rate finishes it; weights that are not
finite are never saved, and no tool loads them."""
import math
import re
import types

import pytest
import torch
from cli_helpers import (IMAGE_DEMO, NO_WORKERS, SEG_DEMO, TEST, TRAIN,
                         run_tool)
from mmengine.config import Config

from mmsepvit.apis import build_model
from mmsepvit.engine import NonFiniteLossHook, NonFiniteTrainingError
from mmsepvit.utils import NonFiniteCheckpointError, load_checkpoint_file

# The seg demo at the rate a user mistyped (1e5), held at 1e-3 by the
# schedule for the first 10 iterations: the loss turns NaN after the second
# checkpoint.
DIVERGING = """_base_ = [{demo!r}]
optim_wrapper = dict(optimizer=dict(lr=1e5))
param_scheduler = [
    dict(type='ConstantLR', factor=1e-8, by_epoch=False, begin=0, end=11)
]
train_cfg = dict(max_iters=20, val_interval=20)
train_dataloader = dict(batch_size=2)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=5, max_keep_ckpts=2))
"""


@pytest.mark.slow
def test_a_diverging_run_stops_keeps_its_good_checkpoints_and_resumes(
        shapes_workspace, tmp_path):
    config = tmp_path / 'diverging.py'
    config.write_text(DIVERGING.format(demo=SEG_DEMO))
    work_dir = tmp_path / 'work'
    command = [TRAIN, config, '--work-dir', work_dir]
    code, out = run_tool([*command, '--cfg-options', *NO_WORKERS],
                         shapes_workspace)
    assert code == 1, out[-3000:]
    assert 'Traceback' not in out
    message = out[out.index('Error: The training loss is not finite'):]
    iteration = int(message.split('at iteration ')[1].split(' ')[0])
    assert 10 < iteration < 15
    assert re.search(r'learning rate 1e\+05, images \w+\.jpg, \w+\.jpg\.',
                     message)
    assert f'{work_dir / "iter_10.pth"}, is intact' in message
    # Nothing logged the NaN iteration as trained.
    assert f'Iter(train) [{iteration}/20]' not in out
    saved = sorted(p.name for p in work_dir.glob('*.pth'))
    assert saved == ['iter_10.pth', 'iter_5.pth']
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(
        work_dir / 'iter_10.pth')
    for name in saved:
        load_checkpoint_file(str(work_dir / name))  # finite: loads

    code, out = run_tool([
        *command, '--resume', '--cfg-options',
        'optim_wrapper.optimizer.lr=1e-3', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    assert f'Resuming from {work_dir / "iter_10.pth"}' in out
    assert ("Resuming at learning rate 0.001 instead of the checkpoint's "
            '100000') in out
    assert 'Iter(train) [20/20]' in out
    load_checkpoint_file(str(work_dir / 'iter_20.pth'))


def _runner(tmp_path, lr=0.5):
    return types.SimpleNamespace(
        iter=21,
        work_dir=str(tmp_path),
        optim_wrapper=types.SimpleNamespace(
            get_lr=lambda: {'lr': [lr, lr / 10]}))


def _batch():
    from mmseg.structures import SegDataSample
    return dict(data_samples=[
        SegDataSample(metainfo=dict(img_path=f'/data/{name}.jpg'))
        for name in ('a', 'b')
    ])


def test_the_hook_names_iteration_term_rate_and_images(tmp_path):
    hook = NonFiniteLossHook()
    runner = _runner(tmp_path)
    finite = dict(loss=torch.tensor(0.5), decode_loss_ce=torch.tensor(0.5),
                  decode_acc_seg=torch.tensor(math.nan))  # not a loss
    hook.after_train_iter(runner, 0, _batch(), finite)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_20.pth'))
    for bad in (math.nan, math.inf, -math.inf):
        outputs = dict(loss=torch.tensor(bad),
                       decode_loss_ce=torch.tensor(bad),
                       decode_loss_dice=torch.tensor(0.1))
        with pytest.raises(NonFiniteTrainingError) as error:
            hook.after_train_iter(runner, 0, _batch(), outputs)
        assert str(error.value) == (
            f'The training loss is not finite at iteration 22 (loss = {bad}, '
            f'decode_loss_ce = {bad}), learning rate 0.05, 0.5, images a.jpg, '
            f'b.jpg. Training stopped; the last checkpoint, '
            f'{tmp_path / "iter_20.pth"}, is intact: continue from it with '
            f'--resume and a lower learning rate (e.g. --cfg-options '
            f'optim_wrapper.optimizer.lr=...).')


def test_non_finite_weights_are_not_saved(tmp_path):
    hook = NonFiniteLossHook()
    runner = _runner(tmp_path)
    state = dict(a=torch.zeros(2), b=torch.tensor([1., math.inf]),
                 steps=torch.tensor([3]))
    with pytest.raises(NonFiniteTrainingError,
                       match='not finite at iteration 21 .first: b.; not '
                       'saving them.*no checkpoint was written before'):
        hook.before_save_checkpoint(runner, dict(state_dict=state))
    state['b'] = torch.ones(2)
    hook.before_save_checkpoint(runner, dict(state_dict=state))


@pytest.fixture(scope='module')
def nan_checkpoint(seg_checkpoint, tmp_path_factory):
    """The seg demo checkpoint with one NaN in one weight."""
    checkpoint = torch.load(seg_checkpoint, weights_only=False)
    name = 'backbone.stages.1.blocks.0.attn.qkv.weight'
    checkpoint['state_dict'][name][3, 5] = math.nan
    path = tmp_path_factory.mktemp('nan') / 'nan.pth'
    torch.save(checkpoint, path)
    return path, name


def test_pretrained_init_refuses_non_finite_weights(nan_checkpoint):
    path, name = nan_checkpoint
    cfg = Config.fromfile(SEG_DEMO)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')
    model = build_model(cfg)
    with pytest.raises(NonFiniteCheckpointError,
                       match=f'{path}: its weights are not finite '
                       fr'\(first: {name}, '):
        model.init_weights()


@pytest.mark.slow
def test_the_tools_refuse_non_finite_weights(nan_checkpoint, tmp_path,
                                             shapes_workspace):
    path, name = nan_checkpoint
    image = next((shapes_workspace / 'data' / 'shapes' / 'ade' / 'images' /
                  'validation').glob('*.jpg'))
    for args in ([TEST, SEG_DEMO, path, '--cfg-options', *NO_WORKERS],
                 [IMAGE_DEMO, image, SEG_DEMO, path, '--out',
                  tmp_path / 'out.png'],
                 [TRAIN, SEG_DEMO, '--work-dir', tmp_path / 'work',
                  '--cfg-options', f'load_from={path}', *NO_WORKERS]):
        code, out = run_tool(args, shapes_workspace)
        assert code == 1, out[-2000:]
        assert (f'Error: Refusing to load checkpoint {path}: its weights '
                f'are not finite (first: {name}, ') in out
        assert 'Traceback' not in out and 'Test metrics' not in out
        assert 'Iter(train)' not in out
    assert not (tmp_path / 'out.png').exists()


@pytest.mark.cuda
def test_fp16_steps_the_loss_scaler_skips_are_not_failures(
        shapes_workspace, tmp_path):
    """The seg demo under --amp (fp16, a dynamic loss scaler) starting at a
    scale of 2^40: the first steps' gradients overflow fp16 and the scaler
    skips them (their losses are finite); training goes on and ends with
    finite weights and a lowered scale."""
    work_dir = tmp_path / 'work'
    code, out = run_tool([
        TRAIN, SEG_DEMO, '--amp', '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=40', 'train_cfg.val_interval=40',
        'default_hooks.checkpoint.interval=40',
        'optim_wrapper.loss_scale.init_scale=1099511627776.0', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    checkpoint = load_checkpoint_file(str(work_dir / 'iter_40.pth'))
    assert checkpoint['optimizer']['loss_scaler']['scale'] < 2.0**40


def test_a_new_rate_scales_the_resumed_optimizer_and_schedule():
    from mmengine.config import Config

    from mmsepvit.engine import ResumeLearningRateHook
    warnings = []
    runner = types.SimpleNamespace(
        cfg=Config(dict(resume=True,
                        optim_wrapper=dict(optimizer=dict(lr=0.01)))),
        logger=types.SimpleNamespace(warning=warnings.append))

    def checkpoint(saved_config):
        return dict(
            meta=dict(cfg=saved_config),
            optimizer=dict(param_groups=[
                dict(lr=0.5, initial_lr=1.0),
                dict(lr=0.05, initial_lr=0.1)
            ]),
            param_schedulers=[
                dict(param_name='lr', base_values=[1.0, 0.1],
                     _last_value=[0.5, 0.05], eta_min=0.001),
                dict(param_name='momentum', base_values=[0.9, 0.9])
            ])

    resumed = checkpoint('optim_wrapper = dict(optimizer=dict(lr=1.0))\n')
    ResumeLearningRateHook().after_load_checkpoint(runner, resumed)
    assert [g['lr'] for g in resumed['optimizer']['param_groups']] == \
        pytest.approx([0.005, 0.0005])
    assert [g['initial_lr'] for g in resumed['optimizer']['param_groups']
            ] == pytest.approx([0.01, 0.001])
    lr_state, momentum_state = resumed['param_schedulers']
    assert lr_state['base_values'] == pytest.approx([0.01, 0.001])
    assert lr_state['_last_value'] == pytest.approx([0.005, 0.0005])
    assert lr_state['eta_min'] == pytest.approx(0.00001)
    assert momentum_state['base_values'] == [0.9, 0.9]
    assert 'scaled by 0.01' in warnings[-1]

    unreadable = checkpoint('optim_wrapper = dict(\n')
    ResumeLearningRateHook().after_load_checkpoint(runner, unreadable)
    assert unreadable == checkpoint('optim_wrapper = dict(\n')
    assert 'Cannot read the config' in warnings[-1]
    runner.cfg.resume = False  # load_from keeps the checkpoint's state
    resumed = checkpoint('optim_wrapper = dict(optimizer=dict(lr=1.0))\n')
    ResumeLearningRateHook().after_load_checkpoint(runner, resumed)
    assert resumed == checkpoint(
        'optim_wrapper = dict(optimizer=dict(lr=1.0))\n')
