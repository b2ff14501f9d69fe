# Copyright (c) mmsepvit contributors. All rights reserved.
"""tools/install.sh refuses early what would make it fail late."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]


def fake_df(folder, free_kb):
    """A ``df`` on PATH that reports ``free_kb`` available, as ``df -Pk``."""
    folder.mkdir()
    script = folder / 'df'
    script.write_text(
        '#!/bin/sh\n'
        'echo "Filesystem 1024-blocks Used Available Capacity Mounted on"\n'
        f'echo "/dev/fake 999999999 1 {free_kb} 1% /"\n')
    script.chmod(0o755)
    return folder


def test_install_refuses_a_disk_too_small_for_the_environment(tmp_path):
    bin_dir = fake_df(tmp_path / 'bin', free_kb=3 * 1024 * 1024)
    venv = tmp_path / 'envs' / 'venv'
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               PYTHON=sys.executable, MMSEPVIT_VENV=str(venv),
               MMSEPVIT_CACHE=str(tmp_path / 'cache'))
    done = subprocess.run(['bash', str(REPO / 'tools' / 'install.sh')],
                          env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert 'needs about 7 GB free' in done.stderr
    assert '3072 MB' in done.stderr
    assert 'MMSEPVIT_VENV' in done.stderr
    assert 'FAILED during step: create the virtual environment' \
        in done.stderr
    assert not venv.exists()
