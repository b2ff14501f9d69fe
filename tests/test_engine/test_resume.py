# Copyright (c) mmsepvit contributors. All rights reserved.
"""A killed and resumed run ends with the weights and optimizer state of an
uninterrupted one, with and without data workers, persistent or not, in
one process and in two; a kill at any moment,
during a checkpoint save too, leaves a run that resumes, with and without
data workers; a checkpoint of another model is refused before any step."""
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from cli_helpers import (CLS_DEMO, DET_DEMO, NO_WORKERS, REPO, SEG_DEMO,
                         SIMMIM_SMALL_DATA, TRAIN, run_tool, run_tools,
                         start_tool, tool_env)

from mmsepvit.cli.preflight import find_resumable_checkpoint

# End to end: tool runs, exports or fresh interpreters.
pytestmark = pytest.mark.slow

# The real demo configs with every source of randomness on.
RANDOMNESS = [
    'randomness.seed=0', 'randomness.deterministic=True',
    'model.backbone.drop_rate=0.1', 'model.backbone.drop_path_rate=0.2'
]
SEG_RUN = [
    'train_cfg.max_iters=8', 'train_cfg.val_interval=4',
    'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=2', 'model.backbone.attn_drop_rate=0.1',
    *RANDOMNESS
]
CLS_RUN = [
    'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4',
    *RANDOMNESS
]


def _wait_for(condition, process, timeout=300):
    """Poll until ``condition()`` or the process ends."""
    deadline = time.time() + timeout
    while not condition() and process.poll() is None:
        assert time.time() < deadline, 'timed out'
        time.sleep(0.002)


def _killed_and_resumed(command, cwd, tmp_path, saved, last, **env):
    """Run ``command`` into ``tmp_path / 'full'`` to its end; then into
    ``tmp_path / 'cut'`` until checkpoint ``saved`` exists, SIGKILL it and
    resume it. Both runs must end with the same weights and optimizer
    state in checkpoint ``last``; return the resumed run's output. (One
    after the other: two training processes on two cores slow each other
    down many times over.)"""
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    full_run = start_tool([*command, '--work-dir', full], cwd,
                          tmp_path / 'full.log', **env)
    assert full_run.wait(timeout=600) == 0, \
        (tmp_path / 'full.log').read_text()[-3000:]
    run = start_tool([*command, '--work-dir', cut], cwd,
                     tmp_path / 'cut.log', **env)
    _wait_for((cut / saved).exists, run)
    run.kill()
    run.wait()
    assert not (cut / last).exists()
    code, out = run_tool([*command, '--work-dir', cut, '--resume'], cwd,
                         **env)
    assert code == 0, out[-3000:]
    assert f'Resuming from {cut / saved}' in out
    assert _differing_tensors(full / last, cut / last) == []
    # tools/train.py's hooks for every config family (test_non_finite.py).
    assert 'NonFiniteLossHook' in out and 'ResumeLearningRateHook' in out
    return out


def _children(pid):
    """The processes whose parent is ``pid``."""
    children = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid):
    """Whether ``pid`` runs (a process killed and not yet reaped does
    not)."""
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1]
    except OSError:
        return False
    return state.split()[0] != 'Z'


def _tensors(path):
    """Every tensor of a checkpoint's weights and optimizer state, by
    where it sits."""
    checkpoint = torch.load(path, weights_only=False)
    found = {}

    def walk(node, where):
        if isinstance(node, torch.Tensor):
            found[where] = node
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f'{where}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{where}.{i}')

    walk(checkpoint['state_dict'], 'state_dict')
    walk(checkpoint['optimizer'], 'optimizer')
    return found


def _differing_tensors(a, b):
    a, b = _tensors(a), _tensors(b)
    assert a.keys() == b.keys()
    # AdamW's moments of every weight are compared too.
    assert sum(k.startswith('optimizer.state.') for k in a) > len(a) / 2
    return [k for k in a if not torch.equal(a[k], b[k])]


# Training data loaded in the main process (augmentation draws from the
# training process's generators) and in two workers (the configs' default).
# Validation draws from a copy of the generators, so it loads in the main
# process in both (starting its workers would only cost time).
WORKERS = {
    0: NO_WORKERS,
    2: [option for option in NO_WORKERS if 'train' not in option]
}


@pytest.mark.parametrize('workers', WORKERS)
def test_killed_and_resumed_seg_run_equals_an_uninterrupted_one(
        workers, shapes_workspace, tmp_path):
    """The seg demo (iteration-based) with its random augmentation, drop
    path, dropout and attention dropout."""
    command = [TRAIN, SEG_DEMO, '--cfg-options', *SEG_RUN, *WORKERS[workers]]
    _killed_and_resumed(command, shapes_workspace, tmp_path, 'iter_4.pth',
                        'iter_8.pth')


TASK_DISTILLATION = """_base_ = [{student!r}]
model = dict(
    _delete_=True,
    type='mmsepvit.TaskDistiller',
    student=_base_.model,
    teacher={student!r},
    teacher_checkpoint={teacher!r},
    distill_loss=dict(type='mmsepvit.ChannelWiseDivergence'))
"""


def test_killed_and_resumed_task_distillation_equals_an_uninterrupted_one(
        seg_checkpoint, shapes_workspace, tmp_path):
    """The seg demo distilled from a seg demo checkpoint (the teacher, in no
    checkpoint of the run, is loaded again on resuming:
    test_task_distillation.py)."""
    config = tmp_path / 'task_distillation.py'
    config.write_text(
        TASK_DISTILLATION.format(
            student=SEG_DEMO, teacher=str(seg_checkpoint)))
    run = [o.replace('model.', 'model.student.', 1) for o in SEG_RUN]
    command = [TRAIN, config, '--cfg-options', *run, *NO_WORKERS]
    _killed_and_resumed(command, shapes_workspace, tmp_path, 'iter_4.pth',
                        'iter_8.pth')


# The epoch-based demos' loaders: in the main process, in workers that
# restart every epoch, and in persistent workers (the configs' default).
LOADERS = {
    'main process': NO_WORKERS,
    'workers': [*WORKERS[2], 'train_dataloader.persistent_workers=False'],
    'persistent workers':
    [*WORKERS[2], 'train_dataloader.persistent_workers=True'],
}
# Mask R-CNN (its proposal sampling draws too, and mmdet batches images by
# aspect ratio) on 48 of the demo's images, without validation.
DET_RUN = [
    'train_cfg.max_epochs=2', 'train_cfg.val_interval=3',
    'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4',
    'train_dataloader.dataset.indices=48', *RANDOMNESS
]


@pytest.mark.parametrize('demo,loader', [
    *(('cls', loader) for loader in LOADERS), ('det', 'persistent workers')
])
def test_killed_and_resumed_epoch_based_run_equals_an_uninterrupted_one(
        demo, loader, shapes_workspace, tmp_path):
    """The cls and det demos (epoch-based) with their random augmentation,
    drop path and dropout."""
    config, run = dict(cls=(CLS_DEMO, CLS_RUN), det=(DET_DEMO, DET_RUN))[demo]
    command = [TRAIN, config, '--cfg-options', *run, *LOADERS[loader]]
    out = _killed_and_resumed(command, shapes_workspace, tmp_path,
                              'epoch_1.pth', 'epoch_2.pth')
    assert 'not bit-identically' not in out


# SimMIM pretraining on unlabeled images: its random crop, flip and masks
# drawn in the config's two data workers, drop path and dropout (off in our
# SimMIM configs) in the training process; as the small-data config trains
# (by iteration) and as the ImageNet SimMIM configs train (by epoch, with
# persistent workers; here a small diff of the small-data config).
SIMMIM_RUN = [
    'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
    *RANDOMNESS
]
SIMMIM_BY_EPOCH = """_base_ = [{config!r}]
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=2)
train_dataloader = dict(persistent_workers=True, dataset=dict(indices=8))
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1))
"""


@pytest.mark.parametrize('loop', ['iterations', 'epochs'])
def test_killed_and_resumed_simmim_pretraining_equals_an_uninterrupted_one(
        loop, shapes_workspace, tmp_path):
    """SimMIM-pretraining SepViT-Lite on the demo's images."""
    if loop == 'iterations':
        config, saved, last = SIMMIM_SMALL_DATA, 'iter_2.pth', 'iter_4.pth'
        run = [
            'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2',
            *SIMMIM_RUN
        ]
    else:
        config, saved, last = tmp_path / 'by_epoch.py', 'epoch_1.pth', (
            'epoch_2.pth')
        config.write_text(SIMMIM_BY_EPOCH.format(config=SIMMIM_SMALL_DATA))
        run = SIMMIM_RUN
    images = shapes_workspace / 'data' / 'shapes' / 'ade' / 'images'
    out = _killed_and_resumed([TRAIN, config, '--cfg-options', *run],
                              shapes_workspace,
                              tmp_path,
                              saved,
                              last,
                              SIMMIM_IMAGES=str(images / 'training'))
    assert 'not bit-identically' not in out


def test_resume_and_load_from_refuse_another_models_checkpoint(
        shapes_workspace, tmp_path):
    """A SepViT-T checkpoint of the seg demo, given to the Lite demo config
    by --resume PATH, by load_from, found by --resume in the work dir and
    by mmengine for a config's resume=True:
    exit code 1 before any step, the first mismatching weight named with
    both shapes, nothing written."""
    tiny = tmp_path / 'tiny'
    code, out = run_tool([
        TRAIN, SEG_DEMO, '--work-dir', tiny, '--cfg-options',
        'model.backbone.arch=tiny', 'model.neck.in_channels=[96,192,384,768]',
        'train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1',
        'train_dataloader.batch_size=2', *NO_WORKERS
    ], shapes_workspace)
    assert code == 0, out[-3000:]
    checkpoint = tiny / 'iter_1.pth'
    found, in_config = tmp_path / 'found', tmp_path / 'in_config'
    for work_dir in (found, in_config):
        work_dir.mkdir()
        shutil.copy(checkpoint, work_dir / 'iter_1.pth')
        (work_dir / 'last_checkpoint').write_text(
            str(work_dir / 'iter_1.pth'))
    lite = [TRAIN, SEG_DEMO, '--cfg-options', *NO_WORKERS]
    work_dirs = [tmp_path / 'resume', tmp_path / 'load_from', found,
                 in_config]
    results = run_tools([
        [*lite, '--work-dir', work_dirs[0], '--resume', checkpoint],
        [*lite, f'load_from={checkpoint}', '--work-dir', work_dirs[1]],
        [*lite, '--work-dir', work_dirs[2], '--resume'],
        [*lite, 'resume=True', '--work-dir', work_dirs[3]],
    ], shapes_workspace)
    for (code, out), work_dir in zip(results, work_dirs):
        assert code == 1, out[-3000:]
        assert re.search(
            r'does not fit the model: backbone\.\S+ has shape \[96(, \d+)*\] '
            r'in the checkpoint and \[32(, \d+)*\] in the model', out), out
        assert 'Traceback' not in out and 'Iter(train)' not in out, out
        assert sorted(p.name for p in work_dir.glob('*.pth')) == (
            ['iter_1.pth'] if work_dir in (found, in_config) else [])
    assert f'Checkpoint {checkpoint} does not fit' in results[0][1]


@pytest.mark.parametrize('workers', WORKERS)
def test_sigkill_at_any_moment_leaves_a_resumable_run(
        workers, shapes_workspace, tmp_path):
    """A kill while a checkpoint is being written, then one at a random
    moment of training; every following --resume must carry on, and the run
    must finish. Without data workers and with the configs' two."""
    work_dir = tmp_path / 'work'
    command = [
        TRAIN, SEG_DEMO, '--work-dir', work_dir, '--resume', '--cfg-options',
        'train_cfg.max_iters=8', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
        *WORKERS[workers]
    ]

    def saving():
        return any(work_dir.glob('*.partial'))

    def trained(log, iters):
        return lambda: any(
            int(done) >= iters
            for done in re.findall(r'Iter\(train\) \[(\d+)/', log.read_text()))

    rng = random.Random(0)
    runs, kills_during_save = [], 0
    for attempt in range(2):
        log = tmp_path / f'run{attempt}.log'
        runs.append((log, any(work_dir.glob('*.pth'))))
        start = time.time_ns()
        process = start_tool(command, shapes_workspace, log)
        if attempt == 0:  # while a checkpoint is being written
            # A save of the Lite demo takes milliseconds: halt the run as
            # soon as a save shows, and look again, so that the kill lands
            # inside a save every time, not by luck of timing.
            while True:
                _wait_for(saving, process)
                assert process.poll() is None, log.read_text()[-3000:]
                process.pause()
                if saving():
                    break
                process.go_on()
        else:  # at a random moment of training: a step, a save, a val
            # Counted in iterations, not seconds: a fast machine must not
            # reach the end first (3 iterations and a val stay ahead).
            _wait_for(trained(log, rng.randint(1, 5)), process)
            time.sleep(rng.uniform(0, 0.3))
        assert process.poll() is None, log.read_text()[-3000:]
        process.kill()
        process.wait()
        kills_during_save += any(p.stat().st_mtime_ns > start
                                 for p in work_dir.glob('*.partial'))
        if any(work_dir.glob('*.pth')):  # a save completed at some point
            checkpoint, _ = find_resumable_checkpoint(str(work_dir))
            assert checkpoint is not None, list(work_dir.iterdir())
    assert kills_during_save >= 1

    code, out = run_tool(command, shapes_workspace)
    assert code == 0, out[-3000:]
    assert (work_dir / 'iter_8.pth').exists()
    assert not any(work_dir.glob('*.partial'))  # cleaned up
    assert len(list(work_dir.glob('*.pth'))) == 1  # max_keep_ckpts
    assert 'no checkpoint to resume' in runs[0][0].read_text()  # not silent
    for log, had_checkpoint in runs[1:]:
        text = log.read_text()
        assert 'Traceback' not in text and 'Error' not in text, text[-3000:]
        assert ('Resuming from' in text) == had_checkpoint, text[-3000:]
    assert 'Resuming from' in out and 'Traceback' not in out


def test_resume_falls_back_to_the_newest_intact_checkpoint(tmp_path):
    intact = tmp_path / 'iter_2.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, intact)
    time.sleep(0.01)
    broken = tmp_path / 'iter_4.pth'
    broken.write_bytes(intact.read_bytes()[:100])
    (tmp_path / 'last_checkpoint').write_text(str(broken))
    found, passed_over = find_resumable_checkpoint(str(tmp_path))
    assert found == str(intact)
    assert len(passed_over) == 1 and str(broken) in passed_over[0]

    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    found, passed_over = find_resumable_checkpoint(str(tmp_path))
    assert found == str(intact) and 'iter_6.pth' in passed_over[0]

    intact.unlink()
    assert find_resumable_checkpoint(str(tmp_path))[0] is None
    assert find_resumable_checkpoint(str(tmp_path / 'none'))[0] is None


def test_resume_from_a_missing_file_stops(tmp_path):
    code, out = run_tool([TRAIN, SEG_DEMO, '--resume', tmp_path / 'nope.pth'],
                         tmp_path)
    assert code == 1
    assert f'--resume {tmp_path / "nope.pth"}: no such checkpoint' in out
    assert 'Traceback' not in out


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path; GPUs take mmengine\'s')
def test_two_cpu_processes_resume_exactly_with_persistent_workers(
        shapes_workspace, tmp_path):
    """tools/dist_train.sh, two CPU processes over gloo, each with two
    persistent data workers: the cls demo killed after its first epoch and
    resumed ends as the uninterrupted run."""
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    command = [
        'bash',
        str(REPO / 'tools' / 'dist_train.sh'), CLS_DEMO, '2', '--cfg-options',
        *CLS_RUN, *LOADERS['persistent workers']
    ]
    env = tool_env(PORT='29521')

    def train(work_dir, *options):
        log = open(work_dir.parent / f'{work_dir.name}.log', 'a')
        return subprocess.Popen([*command, '--work-dir', work_dir, *options],
                                cwd=shapes_workspace,
                                env=env,
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)

    def log(work_dir):
        return (work_dir.parent / f'{work_dir.name}.log').read_text()[-3000:]

    assert train(full).wait(600) == 0, log(full)
    run = train(cut)
    _wait_for((cut / 'epoch_1.pth').exists, run)
    # torchrun starts each rank in a session of its own: kill the ranks'
    # sessions (a rank and its data workers), then torchrun's, as a crash
    # of the machine would.
    ranks = _children(run.pid)
    assert len(ranks) == 2, ranks
    for pid in [*ranks, run.pid]:
        os.killpg(pid, signal.SIGKILL)
    run.wait()
    deadline = time.time() + 60
    while any(map(_alive, ranks)):
        assert time.time() < deadline, 'a rank outlived SIGKILL'
        time.sleep(0.01)
    assert not (cut / 'epoch_2.pth').exists()
    assert train(cut, '--resume').wait(600) == 0, log(cut)
    assert 'not bit-identically' not in log(cut)
    assert len(torch.load(cut / 'epoch_1.pth',
                          weights_only=False)['rng_states']) == 2
    assert _differing_tensors(full / 'epoch_2.pth', cut / 'epoch_2.pth') == []
