# Copyright (c) mmsepvit contributors. All rights reserved.
"""Running the project's command-line tools as a user would."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')
IMAGE_DEMO = str(REPO / 'demo' / 'image_demo.py')
SEG_DEMO = str(REPO / 'configs' / 'seg' / 'fpn_sepvit_demo_shapes.py')
CLS_DEMO = str(REPO / 'configs' / 'cls' / 'sepvit_demo_shapes.py')
# Data loading in the main process: faster to start in short test runs.
NO_WORKERS = [
    f'{loader}.{key}={value}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key, value in (('num_workers', 0), ('persistent_workers', False))
]


def tool_env(**extra):
    return dict(os.environ, PYTHONWARNINGS='ignore', **extra)


def run_tool(args, cwd, timeout=600, **env):
    """Run ``python *args`` in ``cwd``; return (exit code, stdout+stderr)."""
    result = subprocess.run([sys.executable, *map(str, args)],
                            cwd=cwd,
                            env=tool_env(**env),
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def run_tools(commands, cwd, timeout=600, **env):
    """Run several ``python *args`` at once (they mostly wait on imports, one
    core each); return their (exit code, output) in order."""
    logs = [tempfile.TemporaryFile('w+') for _ in commands]
    processes = [
        subprocess.Popen([sys.executable, *map(str, args)],
                         cwd=cwd,
                         env=tool_env(**env),
                         stdout=log,
                         stderr=subprocess.STDOUT)
        for args, log in zip(commands, logs)
    ]
    results = []
    for process, log in zip(processes, logs):
        code = process.wait(timeout)
        log.seek(0)
        results.append((code, log.read()))
        log.close()
    return results
