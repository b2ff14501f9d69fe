# Copyright (c) mmsepvit contributors. All rights reserved.
"""Checkpoints are loaded without running code they carry, damaged files
and wrong weights stop a run, and everything the project writes still
loads."""
import argparse
import os
import pickle
import re
import shutil
import zipfile

import pytest
import torch
from cli_helpers import (IMAGE_DEMO, NO_WORKERS, REPO, SEG_DEMO, TEST, TRAIN,
                         run_tool, run_tools)

from mmsepvit.utils import (DamagedCheckpointError, UnsafeCheckpointError,
                            load_checkpoint_file)

CONVERTER = REPO / 'tools' / 'model_converters' / 'sepvit2mmsepvit.py'
SHORT_TRAIN = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
    *NO_WORKERS
]


class WritesAFile:
    """A harmless stand-in for an attack: unpickling it creates a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


class FetchesInit:
    """A getattr gadget: HistoryBuffer is allowed, its __init__ is not."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.fixture
def hostile(seg_checkpoint, tmp_path):
    """The seg checkpoint with a payload in its meta, and the payload's
    marker file."""
    marker = tmp_path / 'marker'
    checkpoint = torch.load(seg_checkpoint, weights_only=False)
    checkpoint['meta']['note'] = WritesAFile(marker)
    path = tmp_path / 'hostile.pth'
    torch.save(checkpoint, path)
    return path, marker


def test_runner_checkpoints_need_more_than_tensors(seg_checkpoint):
    # The trap is real: PyTorch's default refuses the Runner's own file...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(seg_checkpoint, weights_only=True)
    # ... which the allowlist admits, message hub and random states included.
    checkpoint = load_checkpoint_file(str(seg_checkpoint))
    assert {'state_dict', 'message_hub', 'optimizer',
            'rng_states'} <= set(checkpoint)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].mean() > 0


def test_checkpoints_saved_under_numpy_2_load(seg_checkpoint, tmp_path):
    """numpy 2 pickles the Runner's arrays and random states under
    ``numpy._core``, numpy 1 (this environment) under ``numpy.core``."""
    original = zipfile.ZipFile(seg_checkpoint)
    path = tmp_path / 'numpy2.pth'
    with zipfile.ZipFile(path, 'w') as renamed:
        for record in original.infolist():
            data = original.read(record)
            if record.filename.endswith('/data.pkl'):
                assert b'numpy.core.multiarray' in data
                data = data.replace(b'numpy.core.multiarray',
                                    b'numpy._core.multiarray')
            renamed.writestr(record.filename, data)
    checkpoint = load_checkpoint_file(str(path))
    reference = load_checkpoint_file(str(seg_checkpoint))
    assert repr(checkpoint['rng_states']) == repr(reference['rng_states'])
    torch.testing.assert_close(checkpoint['state_dict'],
                               reference['state_dict'])


def test_payloads_are_refused_by_the_loader(hostile, tmp_path):
    path, marker = hostile
    with pytest.raises(UnsafeCheckpointError, match="'io.open'") as error:
        load_checkpoint_file(str(path))
    assert str(path) in str(error.value)
    assert 'MMSEPVIT_TRUSTED_CHECKPOINTS' in str(error.value)
    assert not marker.exists()

    gadget = tmp_path / 'gadget.pth'
    torch.save({'state_dict': {}, 'x': FetchesInit()}, gadget)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(str(gadget))


def test_trusted_checkpoints_are_an_explicit_opt_in(hostile, monkeypatch):
    path, marker = hostile
    monkeypatch.setenv('MMSEPVIT_TRUSTED_CHECKPOINTS',
                       os.pathsep.join(['/elsewhere.pth', str(path)]))
    load_checkpoint_file(str(path))
    assert marker.exists()


@pytest.mark.slow
def test_payload_is_refused_on_every_path(hostile, shapes_workspace):
    path, marker = hostile
    pretrained = path.parent / 'pretrained_backbone.py'
    pretrained.write_text(
        f'_base_ = {SEG_DEMO!r}\nmodel = dict(backbone=dict(init_cfg=dict('
        f"_delete_=True, type='Pretrained', checkpoint={str(path)!r}, "
        "prefix='backbone.')))")
    image = (shapes_workspace / 'data' / 'shapes' / 'ade' / 'images' /
             'validation' / 'val2017_00000.jpg')
    commands = {
        'test.py': [TEST, SEG_DEMO, path, '--cfg-options', *NO_WORKERS],
        '--resume': [
            TRAIN, SEG_DEMO, '--work-dir', path.parent / 'w1', '--resume',
            path, '--cfg-options', *SHORT_TRAIN
        ],
        'load_from': [
            TRAIN, SEG_DEMO, '--work-dir', path.parent / 'w2',
            '--cfg-options', f'load_from={path}', *SHORT_TRAIN
        ],
        'init_cfg Pretrained': [
            TRAIN, pretrained, '--work-dir', path.parent / 'w3',
            '--cfg-options', *SHORT_TRAIN
        ],
        'image_demo.py': [IMAGE_DEMO, image, SEG_DEMO, path],
        'converter': [CONVERTER, path, path.parent / 'converted.pth'],
    }
    results = run_tools(list(commands.values()), shapes_workspace)
    for name, (code, out) in zip(commands, results):
        assert code != 0, (name, out[-2000:])
        assert f'Refusing to load checkpoint {path}' in out, name
        assert "'io.open'" in out
        assert 'Traceback' not in out, (name, out[-2000:])
        assert not marker.exists(), name


def _flip_bytes_inside_largest_record(src, dst):
    shutil.copy(src, dst)
    with zipfile.ZipFile(dst) as archive:
        record = max(archive.infolist(), key=lambda info: info.file_size)
    with open(dst, 'r+b') as f:
        # Past the local header, in the middle of the tensor bytes.
        f.seek(record.header_offset + 30 + len(record.filename) + 64 +
               record.file_size // 2)
        data = f.read(8)
        f.seek(-8, 1)
        f.write(bytes(b ^ 0xFF for b in data))
    return record.filename


def test_damaged_files_are_refused(seg_checkpoint, tmp_path):
    damaged = tmp_path / 'damaged.pth'
    record = _flip_bytes_inside_largest_record(seg_checkpoint, damaged)
    # PyTorch alone loads the wrong numbers without a word.
    torch.load(damaged, weights_only=False)
    with pytest.raises(DamagedCheckpointError, match=record):
        load_checkpoint_file(str(damaged))

    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(seg_checkpoint.read_bytes()[:1_000_000])
    with pytest.raises(DamagedCheckpointError, match='truncated'):
        load_checkpoint_file(str(truncated))
    empty = tmp_path / 'empty.pth'
    empty.touch()
    with pytest.raises(DamagedCheckpointError, match='empty'):
        load_checkpoint_file(str(empty))

    # Files saved without checksums cannot be checked, and still load.
    torch.serialization.set_crc32_options(False)
    try:
        torch.save({'state_dict': {'w': torch.ones(3)}}, tmp_path / 'n.pth')
    finally:
        torch.serialization.set_crc32_options(True)
    assert load_checkpoint_file(str(tmp_path / 'n.pth'))['state_dict']


@pytest.mark.slow
def test_converter_reads_the_authors_training_checkpoints(tmp_path):
    from sepvit_reference import authors_state_dict
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    # What the authors' (DeiT-style) classification script saves.
    src = tmp_path / 'checkpoint.pth'
    torch.save(
        dict(
            model=authors_state_dict('lite', dense=False),
            optimizer=optimizer.state_dict(),
            lr_scheduler=dict(t_initial=300, base_values=[1e-3]),
            epoch=299,
            scaler=torch.amp.GradScaler('cpu').state_dict(),
            args=argparse.Namespace(model='SepViT_Lite', drop_path=0.1)), src)
    code, out = run_tool([CONVERTER, src, tmp_path / 'dst.pth'], tmp_path)
    assert code == 0, out[-2000:]
    assert 'Converted 190 tensors' in out


@pytest.mark.slow
def test_evaluation_needs_the_right_weights(seg_checkpoint, shapes_workspace,
                                            tmp_path):
    # (The checkpoint itself evaluates: test_train_test.py.)
    checkpoint = torch.load(seg_checkpoint, weights_only=False)
    del checkpoint['state_dict']
    no_weights = tmp_path / 'no_weights.pth'
    torch.save(checkpoint, no_weights)
    damaged = tmp_path / 'damaged.pth'
    _flip_bytes_inside_largest_record(seg_checkpoint, damaged)
    other_arch = [
        'model.backbone.arch=tiny', 'model.neck.in_channels=[96,192,384,768]'
    ]
    runs = [(seg_checkpoint, [], other_arch), (no_weights, [], []),
            (damaged, [], []), (no_weights, ['--non-strict'], [])]
    results = run_tools([[
        TEST, SEG_DEMO, path, *flags, '--work-dir', tmp_path / str(i),
        '--cfg-options', *options, *NO_WORKERS
    ] for i, (path, flags, options) in enumerate(runs)], shapes_workspace)
    (arch, arch_out), (empty, empty_out), (bad, bad_out), \
        (hatch, hatch_out) = results

    # Weights of another arch.
    assert arch == 1 and 'does not fit the model' in arch_out, arch_out[-2000:]
    assert re.search(
        r'backbone\.stages\.0\.patch_embed\S* has shape \[32(, \d+)*\] in '
        r'the checkpoint and \[96(, \d+)*\] in the model', arch_out), arch_out
    # A file with no state_dict.
    assert empty == 1 and 'the checkpoint does not (' in empty_out
    # Damaged tensor bytes.
    assert bad == 1 and 'Bad CRC-32' in bad_out, bad_out[-2000:]
    assert 'Traceback' not in bad_out
    for out in (arch_out, empty_out, bad_out):
        assert 'Test metrics' not in out
    # The escape hatch evaluates anyway, and warns.
    assert hatch == 0 and 'Test metrics' in hatch_out, hatch_out[-2000:]
    assert 'does not fit the model; loaded without: missing [' in hatch_out
    for out in (arch_out, empty_out, bad_out, hatch_out):
        assert 'Traceback' not in out
