# Copyright (c) mmsepvit contributors. All rights reserved.
"""The suite's pytest-xdist workers share the cores (setup.cfg,
tests/conftest.py): each worker, the tools it forks and the interpreters it
starts run with its part of the threads."""
import os
import subprocess
import sys

import torch
from cli_helpers import run_tool, tool_env

COUNT_THREADS = 'import torch; print(torch.get_num_threads())'


def test_workers_and_what_they_start_share_the_cores(tmp_path):
    threads = torch.get_num_threads()
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers is not None:  # pytest -n 0 keeps PyTorch's default
        assert threads == max(1, (os.cpu_count() or 1) // int(workers))
    script = tmp_path / 'threads.py'
    script.write_text(COUNT_THREADS)
    code, out = run_tool([script], tmp_path)
    assert code == 0, out
    assert int(out.split()[-1]) == threads
    fresh = subprocess.run([sys.executable, script],
                           env=tool_env(),
                           capture_output=True,
                           text=True,
                           check=True)
    assert int(fresh.stdout) == threads
