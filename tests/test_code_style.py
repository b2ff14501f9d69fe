# Copyright (c) mmsepvit contributors. All rights reserved.
"""The code style of setup.cfg's ``[flake8]`` section (PEP 8, 79 columns,
no unused or undefined names), checked on every source folder."""
import subprocess
import sys

from cli_helpers import REPO

SOURCES = ('mmsepvit', 'tools', 'tests', 'demo', 'configs', 'setup.py')


def test_sources_pass_flake8():
    result = subprocess.run([sys.executable, '-m', 'flake8', *SOURCES],
                            cwd=REPO,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
